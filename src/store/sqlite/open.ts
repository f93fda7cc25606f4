/**
 * Opening a SQLite store's file: the options, the connection settings (WAL, `synchronous`,
 * foreign keys, busy timeout), the check that the file is a Refrain store, the migrations, and the
 * effective settings read back for diagnostics.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { RefrainError, StoreUnavailableError } from "../../core/errors.js";
import { Database } from "./driver.js";
import { checkDatabase, migrate } from "./schema.js";
import { translateSqliteError } from "./sqlite-errors.js";

/** Options of `SqliteStore`. */
export interface SqliteStoreOptions {
  /** Database file; its directory is created. Default ".refrain/refrain.db". */
  path?: string;
  /** SQLite `synchronous` setting: FULL (default) makes every commit durable on power loss. */
  synchronous?: "FULL" | "NORMAL";
  /** How long a call waits for another connection's write lock before failing. Default 5000. */
  busyTimeoutMs?: number;
}

/** Effective settings of an open SQLite store. */
export interface SqliteDiagnostics {
  path: string;
  journalMode: string;
  /** The durability of a commit: FULL (synced before the call returns) or NORMAL. */
  synchronous: string;
  /**
   * True when FULL commits are synced by the store on libuv's thread pool (a plain file) rather
   * than by SQLite inside COMMIT, which would block the event loop.
   */
  syncsOffEventLoop: boolean;
  /**
   * True when checkpoints (copying the write-ahead log into the database file) run on the store's
   * checkpointer thread (a plain file) rather than inside a commit on the event loop.
   */
  checkpointsOffEventLoop: boolean;
  /** Checkpoints the checkpointer thread has completed since the store opened. */
  threadCheckpoints: number;
  /** Why the thread's last checkpoint failed, when it did (the next one tries again). */
  checkpointError?: string;
  busyTimeoutMs: number;
  schemaVersion: number;
}

const SYNCHRONOUS_NAMES = ["OFF", "NORMAL", "FULL", "EXTRA"];

/**
 * Opens (creating its directory and the file when missing) and migrates the store at `path`.
 * Throws `STORE_UNAVAILABLE` when the file cannot be opened and `STORE_CORRUPT` when it is not a
 * Refrain store or was written by a newer version; the connection is closed on any failure.
 */
export function openDatabase(
  path: string,
  synchronous: "FULL" | "NORMAL",
  busyTimeoutMs: number,
): BetterSqlite3.Database {
  let db: BetterSqlite3.Database;
  try {
    if (isPlainFile(path)) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (err) {
    const translated = translateSqliteError(err, path, `cannot open SQLite store '${path}'`);
    if (translated instanceof RefrainError) throw translated;
    throw new StoreUnavailableError(`cannot open SQLite store '${path}': ${String(err)}`, err);
  }
  try {
    checkDatabase(db, path);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma("foreign_keys = ON");
    // Savepoints (one per write of a group commit) journal the pages they touch: in memory, not
    // in a temporary file. The WAL, which makes commits durable, is unaffected.
    db.pragma("temp_store = MEMORY");
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    throw translateSqliteError(err, path, `cannot open SQLite store '${path}'`);
  }
}

/** True for a path naming a file on disk (not ":memory:", "" or a "file:" URI). */
export function isPlainFile(path: string): boolean {
  return path !== "" && path !== ":memory:" && !path.startsWith("file:");
}

/** The settings an open connection actually runs with, and the file's schema version. */
export function readDiagnostics(
  db: BetterSqlite3.Database,
  path: string,
): Omit<
  SqliteDiagnostics,
  "syncsOffEventLoop" | "checkpointsOffEventLoop" | "threadCheckpoints" | "checkpointError"
> {
  const version = db.prepare("SELECT value FROM refrain_meta WHERE key = 'schema_version'").pluck().get();
  return {
    path,
    journalMode: String(db.pragma("journal_mode", { simple: true })),
    synchronous: SYNCHRONOUS_NAMES[Number(db.pragma("synchronous", { simple: true }))] ?? "unknown",
    busyTimeoutMs: Number(db.pragma("busy_timeout", { simple: true })),
    schemaVersion: Number(version),
  };
}
