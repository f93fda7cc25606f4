/**
 * What the system adapters share: the PostgreSQL server they use, throw-away databases, schemas
 * and temporary directories, free loopback ports, and a registry of clean-up actions that
 * run.mjs runs on Ctrl-C, on SIGTERM and on a fatal error, so that no server, database, schema or
 * directory outlives the runner.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** The PostgreSQL server: env COMPARE_PG_URL, else the local one as user `postgres` (trust auth). */
export const PG_SERVER_URL = process.env.COMPARE_PG_URL || "postgres://postgres@127.0.0.1:5432";

/** The database Refrain's PostgreSQL runs create their schemas in. */
export const REFRAIN_PG_DATABASE = process.env.COMPARE_PG_DATABASE || "test";

/** A connection string for `database` on the PostgreSQL server. */
export function pgUrl(database) {
  const url = new URL(PG_SERVER_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A random lowercase hex suffix for names of throw-away databases and schemas. */
export function randomHex() {
  return randomBytes(6).toString("hex");
}

/** Runs `sql` on one short-lived connection to `database`. */
export async function pgQuery(database, sql) {
  const client = new pg.Client({ connectionString: pgUrl(database), connectionTimeoutMillis: 5000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Undefined when PostgreSQL answers on `database`, else why not. */
export async function checkPostgres(database) {
  try {
    await pgQuery(database, "SELECT 1");
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${pgUrl(database)} is unreachable: ${err instanceof Error ? err.message : err}`;
  }
}

/** The server version string of PostgreSQL, for the report header. */
export async function postgresVersion() {
  const result = await pgQuery("postgres", "SHOW server_version");
  return result.rows[0].server_version;
}

const cleanups = new Set();

/** Registers a clean-up action; returns a function that runs it (once) and unregisters it. */
export function onCleanup(action) {
  let done = false;
  const run = async () => {
    if (done) return;
    done = true;
    cleanups.delete(run);
    await action();
  };
  cleanups.add(run);
  return run;
}

/** Runs every clean-up action not yet run, ignoring their failures. */
export async function cleanupAll() {
  await Promise.all([...cleanups].map((run) => run().catch(() => {})));
}

/** A new temporary directory and its (registered) removal. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(process.env.COMPARE_TMPDIR || tmpdir(), prefix));
  const remove = onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return { dir, remove };
}

/** A new, empty PostgreSQL database `<prefix><hex>` and its (registered) removal. */
export async function freshDatabase(prefix) {
  const name = `${prefix}${randomHex()}`;
  if (!/^[a-z_]+[0-9a-f]+$/.test(name)) throw new Error(`bad database name ${name}`);
  await pgQuery("postgres", `CREATE DATABASE "${name}"`);
  const drop = onCleanup(() => pgQuery("postgres", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  return { name, url: pgUrl(name), drop };
}

/** A fresh schema name `cmp_<hex>` in `database` and its (registered) `DROP SCHEMA … CASCADE`. */
export function freshSchema(database) {
  const schema = `cmp_${randomHex()}`;
  const drop = onCleanup(() => pgQuery(database, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  return { schema, drop };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The version of an installed package of bench/compare, or undefined when it is not installed. */
export function packageVersion(name) {
  try {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(file, "utf8")).version;
  } catch {
    return undefined;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
