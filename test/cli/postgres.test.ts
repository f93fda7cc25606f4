/**
 * `refrain` on PostgreSQL: the management commands against a live app's schema (chosen with
 * `--database-url`/`--schema` or REFRAIN_DATABASE_URL), a missing schema reported and not created,
 * and `refrain migrate` creating and then confirming a store's schema.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  adminQuery,
  describePostgres,
  dropSchema,
  randomSchema,
  TEST_DATABASE_URL,
} from "../store-conformance/postgres-env.js";
import { type CliFixture, parseJson, startFixture } from "./fixture.js";

async function schemaExists(schema: string): Promise<boolean> {
  const { rowCount } = await adminQuery("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
  return rowCount === 1;
}

await describePostgres("refrain CLI on PostgreSQL", () => {
  let fx: CliFixture;
  const created: string[] = [];

  before(async () => {
    fx = await startFixture("postgres");
  });
  after(async () => {
    try {
      await fx?.close();
    } finally {
      for (const schema of created) await dropSchema(schema);
    }
  });

  test("start → raise → wait → status → list → purge, with --database-url and --schema", async () => {
    const started = await fx.cli("start", "Approval", "--id", "pg-order-1", "--input", '{"n":1}');
    assert.deepEqual(started, { code: 0, stdout: "pg-order-1\n", stderr: "" });
    await fx.waitForStatus("pg-order-1", ["Running"]);
    assert.equal((await fx.cli("raise", "pg-order-1", "approve", "true")).code, 0);
    const waited = await fx.cli("wait", "pg-order-1", "--timeout-ms", "15000", "--json");
    assert.equal(waited.code, 0, waited.stderr);
    assert.deepEqual(parseJson(waited).output, { input: { n: 1 }, approved: true });

    const status = await fx.cli("status", "pg-order-1", "--history");
    assert.match(status.stdout, /^Status:\s+Completed$/m);
    assert.match(status.stdout, /EventRaised/);
    const list = parseJson<{ instances: { instanceId: string }[] }>(await fx.cli("list", "--json"));
    assert.deepEqual(
      list.instances.map((s) => s.instanceId),
      ["pg-order-1"],
    );
    assert.equal((await fx.cli("purge", "pg-order-1")).stdout, "purged 1 instance\n");
  });

  test("REFRAIN_DATABASE_URL selects PostgreSQL when no flag does; --db still wins", async () => {
    const schema = fx.storeArgs[fx.storeArgs.indexOf("--schema") + 1]!;
    await fx.cli("start", "Echo", "--id", "pg-echo-1", "--input", "5");
    await fx.waitForStatus("pg-echo-1", ["Completed"]);
    const fromEnv = await fx.cliRaw(["status", "pg-echo-1", "--schema", schema, "--json"], {
      REFRAIN_DATABASE_URL: TEST_DATABASE_URL,
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(parseJson(fromEnv).output, 5);
    const sqlite = await fx.cliRaw(["status", "pg-echo-1", "--db", fx.dbPath], {
      REFRAIN_DATABASE_URL: TEST_DATABASE_URL,
    });
    assert.match(sqlite.stderr, /^error \[DB_NOT_FOUND\]: no Refrain database at /);
  });

  test("both --db and --database-url is a usage error", async () => {
    const run = await fx.cliRaw(["list", "--db", fx.dbPath, "--database-url", TEST_DATABASE_URL]);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /cannot be used together/);
  });

  test("a schema without a Refrain store is reported and not created", async () => {
    const schema = randomSchema();
    for (const args of [["list"], ["start", "Echo"]]) {
      const run = await fx.cliRaw([...args, "--database-url", TEST_DATABASE_URL, "--schema", schema]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(`^error \\[DB_NOT_FOUND\\]: no Refrain store in schema '${schema}'`),
      );
    }
    assert.equal(await schemaExists(schema), false);
  });

  test("migrate creates a store's schema once; afterwards it is up to date and usable", async () => {
    const schema = randomSchema();
    created.push(schema);
    const args = ["migrate", "--database-url", TEST_DATABASE_URL, "--schema", schema];
    const first = await fx.cliRaw(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`schema ${schema}: migrated from schema version 0 to \\d+\\n$`));
    const second = await fx.cliRaw([...args, "--json"]);
    assert.equal(second.code, 0, second.stderr);
    const result = parseJson<{ schema: string; fromVersion: number; toVersion: number }>(second);
    assert.equal(result.schema, schema);
    assert.equal(result.fromVersion, result.toVersion);
    const list = await fx.cliRaw(["list", "--database-url", TEST_DATABASE_URL, "--schema", schema]);
    assert.deepEqual(list, { code: 0, stdout: "no instances found\n", stderr: "" });
  });

  test("migrate without a PostgreSQL database is a usage error", async () => {
    const run = await fx.cliRaw(["migrate", "--db", fx.dbPath]);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /migrate applies PostgreSQL migrations/);
  });
});
