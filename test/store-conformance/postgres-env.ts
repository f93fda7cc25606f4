/**
 * The PostgreSQL test environment: which database the tests use (env DATABASE_URL, default the
 * local `test` database), whether it is reachable, and throwaway schemas. When the database is
 * unreachable the PostgreSQL suites are skipped with a visible reason, except under CI
 * (`CI=true`), where they fail instead so a broken database never passes silently.
 */
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import pg from "pg";

/** The database every PostgreSQL test uses. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Undefined when the test database answers a query; otherwise why not. */
export async function unreachableReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${TEST_DATABASE_URL} is unreachable (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const reachability = unreachableReason();

/**
 * Declares `body` (describe/test calls) under `describe(label)` when the test database is
 * reachable. Otherwise: under CI a failing test explaining why; elsewhere a skipped describe
 * whose reason the reporter prints.
 */
export async function describePostgres(label: string, body: () => void): Promise<void> {
  const reason = await reachability;
  if (reason === undefined) {
    describe(label, body);
  } else if (process.env.CI === "true") {
    describe(label, () => {
      test("the PostgreSQL test database is reachable", () => {
        throw new Error(`${reason}; CI=true, so PostgreSQL tests must run. Set DATABASE_URL.`);
      });
    });
  } else {
    console.warn(`skipping ${label}: ${reason}`);
    describe(label, { skip: `${reason} (set DATABASE_URL to run)` }, () => {});
  }
}

/** A fresh schema name for one test: refrain_t_<random hex>. */
export function randomSchema(): string {
  return `refrain_t_${randomBytes(6).toString("hex")}`;
}

/** Runs one statement on the test database with a short-lived connection. */
export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops a schema the test created, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  if (!schema.startsWith("refrain_t_")) throw new Error(`refusing to drop schema '${schema}'`);
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
