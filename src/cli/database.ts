/**
 * Which store the `refrain` command and the demo use: a SQLite file or a schema in a PostgreSQL
 * database, chosen from command-line flags and the environment with one precedence rule, and
 * opened without creating anything the user did not ask for. Also how to print a database URL
 * (password hidden) and the flags that reach the same store again.
 */
import { statSync } from "node:fs";
import pg from "pg";
import { RefrainError } from "../core/errors.js";
import { PostgresStore } from "../store/postgres/postgres-store.js";
import { DEFAULT_SCHEMA, validateSchemaName } from "../store/postgres/schema.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import type { Store } from "../store/store.js";
import { CliError, type ParsedArgs, stringOption, UsageError } from "./args.js";

/** The SQLite file used when nothing else is chosen (the TaskHub default). */
export const DEFAULT_DB_PATH = ".refrain/refrain.db";

/** Where the database URL came from: a flag, or an environment variable. */
export type UrlSource = "--database-url" | "REFRAIN_DATABASE_URL" | "DATABASE_URL";

/** The store chosen for one run. */
export type StoreChoice =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema: string; source: UrlSource };

/** The store-selecting flags of one invocation (undefined when absent). */
export interface StoreFlags {
  db?: string | undefined;
  databaseUrl?: string | undefined;
  schema?: string | undefined;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/**
 * Chooses the store. Precedence: `--database-url`, then `--db` (giving both is an error), then
 * env `REFRAIN_DATABASE_URL`, then env `REFRAIN_DB`, then (only when `acceptDatabaseUrlEnv`, as
 * the demo does) env `DATABASE_URL`, then the default SQLite file. `--schema` (default
 * "refrain") only applies to PostgreSQL. Throws `UsageError` for contradictory or bad values.
 */
export function chooseStore(
  flags: StoreFlags,
  env: NodeJS.ProcessEnv,
  options: { acceptDatabaseUrlEnv?: boolean } = {},
): StoreChoice {
  if (flags.db !== undefined && flags.databaseUrl !== undefined) {
    throw new UsageError("--db (SQLite) and --database-url (PostgreSQL) cannot be used together");
  }
  if (flags.db === "") throw new UsageError("--db must not be empty");
  if (flags.databaseUrl === "") throw new UsageError("--database-url must not be empty");
  let url: { url: string; source: UrlSource } | undefined;
  if (flags.databaseUrl !== undefined) url = { url: flags.databaseUrl, source: "--database-url" };
  else if (flags.db === undefined && env.REFRAIN_DATABASE_URL) {
    url = { url: env.REFRAIN_DATABASE_URL, source: "REFRAIN_DATABASE_URL" };
  } else if (flags.db === undefined && !env.REFRAIN_DB && options.acceptDatabaseUrlEnv && env.DATABASE_URL) {
    url = { url: env.DATABASE_URL, source: "DATABASE_URL" };
  }
  if (url === undefined) {
    if (flags.schema !== undefined) {
      throw new UsageError(
        "--schema applies to PostgreSQL only: pass --database-url URL (or set REFRAIN_DATABASE_URL)",
      );
    }
    return { kind: "sqlite", path: flags.db ?? (env.REFRAIN_DB || DEFAULT_DB_PATH) };
  }
  if (!POSTGRES_URL.test(url.url)) {
    throw new UsageError(
      `${url.source} must be a postgres:// or postgresql:// URL, got '${redactUrl(url.url)}'`,
    );
  }
  let schema = DEFAULT_SCHEMA;
  try {
    schema = validateSchemaName(flags.schema ?? DEFAULT_SCHEMA);
  } catch (err) {
    throw new UsageError(`--schema: ${(err as Error).message}`);
  }
  return { kind: "postgres", url: url.url, schema, source: url.source };
}

/** The store-selecting flags of parsed `refrain` arguments. */
export function storeFlags(args: ParsedArgs): StoreFlags {
  return {
    db: stringOption(args, "db"),
    databaseUrl: stringOption(args, "database-url"),
    schema: stringOption(args, "schema"),
  };
}

/** The store a `refrain` command uses (the CLI does not read DATABASE_URL: see `chooseStore`). */
export function chooseCliStore(args: ParsedArgs, env: NodeJS.ProcessEnv): StoreChoice {
  return chooseStore(storeFlags(args), env);
}

/** The URL with its password (if any) replaced by "***", for printing. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}

/** A one-line description: "SQLite file PATH" or "PostgreSQL URL, schema S". */
export function describeStore(choice: StoreChoice): string {
  if (choice.kind === "sqlite") return `SQLite file ${choice.path}`;
  return `PostgreSQL ${redactUrl(choice.url)}, schema ${choice.schema}`;
}

/**
 * The `refrain` flags that reach the same store from a shell with the same environment (the CLI
 * reads REFRAIN_DATABASE_URL and REFRAIN_DB itself), each with a leading space; "" when none are
 * needed. A URL given on the command line is printed with its password hidden.
 */
export function cliStoreArguments(choice: StoreChoice): string {
  if (choice.kind === "sqlite") return choice.path === DEFAULT_DB_PATH ? "" : ` --db ${choice.path}`;
  const schema = choice.schema === DEFAULT_SCHEMA ? "" : ` --schema ${choice.schema}`;
  if (choice.source === "REFRAIN_DATABASE_URL") return schema;
  const url = choice.source === "DATABASE_URL" ? '"$DATABASE_URL"' : redactUrl(choice.url);
  return ` --database-url ${url}${schema}`;
}

/** The store of a choice; `applicationName` labels PostgreSQL connections (pg_stat_activity). */
export function openStore(choice: StoreChoice, applicationName: string): Store {
  if (choice.kind === "sqlite") return new SqliteStore({ path: choice.path });
  return new PostgresStore({
    connectionString: choice.url,
    schema: choice.schema,
    pool: { max: 4, application_name: applicationName },
  });
}

/** A PostgreSQL connection failure as a CLI error; other errors pass through. */
export function connectionError(choice: StoreChoice, err: unknown): unknown {
  if (err instanceof RefrainError || err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CliError("STORE_UNAVAILABLE", `cannot use ${describeStore(choice)}: ${message}`);
}

/** True when `schema` holds a Refrain store (its refrain_meta table), checked without changing anything. */
async function postgresStoreExists(url: string, schema: string): Promise<boolean> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: "refrain-cli",
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const { rowCount } = await client.query(
      "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'refrain_meta'",
      [schema],
    );
    return rowCount === 1;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Throws `DB_NOT_FOUND` unless `path` is an existing file. */
function assertSqliteFileExists(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new CliError("DB_NOT_FOUND", `no Refrain database at ${path} — start your app first or pass --db`);
  }
  if (!isFile) throw new CliError("DB_NOT_FOUND", `${path} is not a file, so not a Refrain database`);
}

/**
 * Throws `DB_NOT_FOUND` unless the chosen store already exists (a SQLite file, or a PostgreSQL
 * schema holding a Refrain store), so that management commands never create one by accident.
 */
export async function assertStoreExists(choice: StoreChoice): Promise<void> {
  if (choice.kind === "sqlite") {
    assertSqliteFileExists(choice.path);
    return;
  }
  let exists: boolean;
  try {
    exists = await postgresStoreExists(choice.url, choice.schema);
  } catch (err) {
    throw connectionError(choice, err);
  }
  if (!exists) {
    throw new CliError(
      "DB_NOT_FOUND",
      `no Refrain store in schema '${choice.schema}' of ${redactUrl(choice.url)} — start your app ` +
        "first, run 'refrain migrate', or pass --schema",
    );
  }
}
