/**
 * How the CLI and the demo choose their store from flags and environment: the precedence rule,
 * the contradictions and bad values it rejects, and how a chosen store is printed (passwords
 * hidden) and reached again from a shell.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UsageError } from "../../src/cli/args.js";
import {
  chooseStore,
  cliStoreArguments,
  DEFAULT_DB_PATH,
  describeStore,
  redactUrl,
} from "../../src/cli/database.js";

const URL_A = "postgres://app@db-a:5432/orders";
const URL_B = "postgresql://ops@db-b/orders";

describe("choosing the store", () => {
  test("nothing given: the default SQLite file; REFRAIN_DB replaces it", () => {
    assert.deepEqual(chooseStore({}, {}), { kind: "sqlite", path: DEFAULT_DB_PATH });
    assert.deepEqual(chooseStore({}, { REFRAIN_DB: "/env.db" }), { kind: "sqlite", path: "/env.db" });
  });

  test("--database-url beats everything; --db beats the environment", () => {
    const env = { REFRAIN_DATABASE_URL: URL_B, REFRAIN_DB: "/env.db", DATABASE_URL: URL_B };
    assert.deepEqual(chooseStore({ databaseUrl: URL_A }, env), {
      kind: "postgres",
      url: URL_A,
      schema: "refrain",
      source: "--database-url",
    });
    assert.deepEqual(chooseStore({ db: "/flag.db" }, env), { kind: "sqlite", path: "/flag.db" });
  });

  test("REFRAIN_DATABASE_URL beats REFRAIN_DB", () => {
    const choice = chooseStore({}, { REFRAIN_DATABASE_URL: URL_B, REFRAIN_DB: "/env.db" });
    assert.equal(choice.kind, "postgres");
    assert.equal(choice.kind === "postgres" && choice.source, "REFRAIN_DATABASE_URL");
  });

  test("DATABASE_URL is read only where asked for (the demo), and after REFRAIN_DB", () => {
    assert.equal(chooseStore({}, { DATABASE_URL: URL_A }).kind, "sqlite");
    const demo = { acceptDatabaseUrlEnv: true };
    assert.deepEqual(chooseStore({}, { DATABASE_URL: URL_A }, demo), {
      kind: "postgres",
      url: URL_A,
      schema: "refrain",
      source: "DATABASE_URL",
    });
    assert.equal(chooseStore({}, { DATABASE_URL: URL_A, REFRAIN_DB: "/env.db" }, demo).kind, "sqlite");
  });

  test("--schema selects the PostgreSQL schema", () => {
    const choice = chooseStore({ databaseUrl: URL_A, schema: "tenant_7" }, {});
    assert.equal(choice.kind === "postgres" && choice.schema, "tenant_7");
  });

  test("contradictions and bad values are usage errors", () => {
    const cases: { flags: Parameters<typeof chooseStore>[0]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
      { flags: { db: "a.db", databaseUrl: URL_A }, message: /cannot be used together/ },
      { flags: { schema: "s" }, message: /--schema applies to PostgreSQL only/ },
      {
        flags: { db: "a.db", schema: "s" },
        env: { REFRAIN_DATABASE_URL: URL_A },
        message: /PostgreSQL only/,
      },
      { flags: { db: "" }, message: /--db must not be empty/ },
      { flags: { databaseUrl: "" }, message: /--database-url must not be empty/ },
      { flags: { databaseUrl: "app.db" }, message: /must be a postgres:\/\/ or postgresql:\/\/ URL/ },
      { flags: {}, env: { REFRAIN_DATABASE_URL: "mysql://x" }, message: /REFRAIN_DATABASE_URL must be/ },
      { flags: { databaseUrl: URL_A, schema: "Bad-Name" }, message: /--schema: schema must be/ },
    ];
    for (const { flags, env, message } of cases) {
      assert.throws(
        () => chooseStore(flags, env ?? {}),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });
});

describe("printing the chosen store", () => {
  test("passwords are hidden", () => {
    assert.equal(redactUrl("postgres://app:s3cr3t@db:5432/x"), "postgres://app:***@db:5432/x");
    assert.equal(redactUrl(URL_A), URL_A);
    const choice = chooseStore({ databaseUrl: "postgres://app:pw@db/x", schema: "s1" }, {});
    assert.equal(describeStore(choice), "PostgreSQL postgres://app:***@db/x, schema s1");
    assert.equal(describeStore(chooseStore({}, {})), `SQLite file ${DEFAULT_DB_PATH}`);
  });

  test("the CLI flags that reach the same store from the same shell", () => {
    assert.equal(cliStoreArguments(chooseStore({}, {})), "");
    assert.equal(cliStoreArguments(chooseStore({ db: "/x.db" }, {})), " --db /x.db");
    assert.equal(cliStoreArguments(chooseStore({}, { REFRAIN_DATABASE_URL: URL_A })), "");
    assert.equal(
      cliStoreArguments(
        chooseStore({ schema: "s1" }, { DATABASE_URL: URL_A }, { acceptDatabaseUrlEnv: true }),
      ),
      ' --database-url "$DATABASE_URL" --schema s1',
    );
    assert.equal(
      cliStoreArguments(chooseStore({ databaseUrl: "postgres://a:pw@h/d" }, {})),
      " --database-url postgres://a:***@h/d",
    );
  });
});
