/**
 * Fresh stores for measured runs: an in-memory store, a new SQLite file in a new temporary
 * directory (durable: WAL + synchronous=FULL, the store's default), or a new PostgreSQL schema
 * `bench_<random hex>`. Each is removed again by `dispose()` (directory deleted, schema dropped with
 * `DROP SCHEMA … CASCADE`); `disposeAll()` does it for every store not yet disposed, for Ctrl-C.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { MemoryStore, PostgresStore, SqliteStore, type Store } from "refrain";
import { Database, SQLITE_DRIVER_PACKAGE } from "../src/store/sqlite/driver.js";

/** The stores the benchmark runs on. */
export const STORE_KINDS = ["memory", "sqlite", "postgres"] as const;

/** One of `STORE_KINDS`. */
export type StoreKind = (typeof STORE_KINDS)[number];

/** Where a store lives: enough for another process (a worker child) to open the same store. */
export type StoreSpec =
  | { kind: "memory" }
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; connectionString: string; schema: string };

/** The database used for PostgreSQL runs: env DATABASE_URL, else the local `test` database. */
export const DATABASE_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";

/** A store made for one measured run, and how to remove it afterwards. */
export interface FreshStore {
  /** How to open it again (in another process). */
  spec: StoreSpec;
  /** The store itself, not yet opened. */
  store: Store;
  /** Deletes its file or schema. Call after every process using it has closed it. */
  dispose(): Promise<void>;
}

const undisposed = new Set<FreshStore>();

/** Opens (constructs) the store a spec describes; `open()` is left to the task hub. */
export function openStore(spec: StoreSpec): Store {
  switch (spec.kind) {
    case "memory":
      return new MemoryStore();
    case "sqlite":
      return new SqliteStore({ path: spec.path });
    case "postgres":
      return new PostgresStore({ connectionString: spec.connectionString, schema: spec.schema });
  }
}

async function dropSchema(connectionString: string, schema: string): Promise<void> {
  if (!/^bench_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop schema '${schema}'`);
  const client = new pg.Client({ connectionString });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A new, empty store of the given kind. */
export function freshStore(kind: StoreKind): FreshStore {
  let spec: StoreSpec;
  let remove: () => Promise<void>;
  switch (kind) {
    case "memory":
      spec = { kind };
      remove = async () => {};
      break;
    case "sqlite": {
      const dir = mkdtempSync(join(process.env.BENCH_TMPDIR || tmpdir(), "refrain-bench-"));
      spec = { kind, path: join(dir, "bench.db") };
      remove = async () => rmSync(dir, { recursive: true, force: true });
      break;
    }
    case "postgres": {
      const schema = `bench_${randomBytes(6).toString("hex")}`;
      spec = { kind, connectionString: DATABASE_URL, schema };
      remove = () => dropSchema(DATABASE_URL, schema);
      break;
    }
  }
  const fresh: FreshStore = {
    spec,
    store: openStore(spec),
    dispose: async () => {
      if (!undisposed.delete(fresh)) return;
      await remove();
    },
  };
  undisposed.add(fresh);
  return fresh;
}

/** Disposes every store not yet disposed (files deleted, schemas dropped), ignoring failures. */
export async function disposeAll(): Promise<void> {
  await Promise.all([...undisposed].map((fresh) => fresh.dispose().catch(() => {})));
}

/** Checks that the PostgreSQL database answers; throws a readable error otherwise. */
export async function checkPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (err) {
    throw new Error(
      `PostgreSQL at ${DATABASE_URL} is unreachable (${err instanceof Error ? err.message : String(err)}); set DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** Server version strings of the stores, for the results header. */
export async function storeVersions(kinds: readonly StoreKind[]): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  if (kinds.includes("sqlite")) {
    const db = new Database(":memory:");
    try {
      const row = db.prepare("SELECT sqlite_version() AS v").get() as { v: string };
      versions.sqlite = `${row.v} (${SQLITE_DRIVER_PACKAGE})`;
    } finally {
      db.close();
    }
  }
  if (kinds.includes("postgres")) {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    client.on("error", () => {});
    await client.connect();
    try {
      const result = await client.query<{ server_version: string }>("SHOW server_version");
      versions.postgres = result.rows[0]?.server_version ?? "unknown";
    } finally {
      await client.end().catch(() => {});
    }
  }
  return versions;
}
