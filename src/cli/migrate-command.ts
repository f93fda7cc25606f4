/**
 * `refrain migrate`: applies the PostgreSQL store's schema migrations ahead of time, for operators
 * who do not let applications change the database schema (or want to see it done before rolling
 * out a new version). Workers run the same migration when they open the store, under the same
 * advisory lock, so running it while workers start is safe.
 */
import { migrate } from "../store/postgres/setup.js";
import { type CommandSpec, UsageError } from "./args.js";
import { chooseCliStore, connectionError, describeStore } from "./database.js";

/** The `migrate` command. */
export const MIGRATE_COMMAND: CommandSpec = {
  name: "migrate",
  summary: "create or upgrade a PostgreSQL store's schema (apps also do it when they start)",
  positionals: [],
  options: {},
  details:
    "Needs a PostgreSQL database: --database-url URL or $REFRAIN_DATABASE_URL, and optionally --schema. " +
    "Creates the schema when missing; does nothing when it is up to date. SQLite files migrate " +
    "themselves when an app opens them.",
  prepare() {
    return {
      async onDatabase(args, env) {
        const choice = chooseCliStore(args, env);
        if (choice.kind !== "postgres") {
          throw new UsageError(
            "migrate applies PostgreSQL migrations: pass --database-url URL (or set REFRAIN_DATABASE_URL)",
            "migrate",
          );
        }
        let result: Awaited<ReturnType<typeof migrate>>;
        try {
          result = await migrate({
            connectionString: choice.url,
            schema: choice.schema,
            pool: { application_name: "refrain-cli" },
            maxRetries: 2,
          });
        } catch (err) {
          throw connectionError(choice, err);
        }
        const where = describeStore(choice);
        const text =
          result.fromVersion === result.toVersion
            ? `${where}: already at schema version ${result.toVersion}`
            : `${where}: migrated from schema version ${result.fromVersion} to ${result.toVersion}`;
        return { json: result, text };
      },
    };
  },
};
