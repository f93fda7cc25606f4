/**
 * The SQLite store's connection and its transactions: plain reads, consistent multi-statement
 * reads, immediate unsynced write transactions (for leases), and the group commit
 * of durable writes. Every durable write requested in one turn of the event loop (instance
 * creations, messages, checkpoints, activity completions, from any caller) runs in one
 * transaction with one sync; a write that throws changes nothing and fails alone (the batch is
 * then retried with a savepoint per write). A write's promise settles once the shared commit is
 * synced (by SQLite inside COMMIT, or by a `WalSync` off the event loop), so a write is durable
 * before its call returns; with a `WalSync`, the engine's step commits may settle at the commit
 * instead (ADR 011). Notifications are delivered once the commit is synced.
 */
import type BetterSqlite3 from "better-sqlite3";
import { StoreUnavailableError } from "../../core/errors.js";
import { NotificationBatch, type NotificationHub } from "../common.js";
import { translateSqliteError } from "./sqlite-errors.js";
import type { Statements } from "./statements.js";
import type { WalSync } from "./wal-sync.js";

/** The body of a write: statements, plus the notifications it produces. */
export type WriteBody<T> = (s: Statements, batch: NotificationBatch) => T;

interface QueuedWrite {
  hub: string;
  body: WriteBody<unknown>;
  /** Settle once committed, before the sync (see `writeSoon`). */
  early: boolean;
  /** Told the write's value once it is committed, before the sync. */
  onCommitted?: (value: unknown) => void;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** A write that ran (ok) or threw (not ok, `value` is the error), with its notifications. */
interface Done {
  write: QueuedWrite;
  ok: boolean;
  value: unknown;
  batch: NotificationBatch;
}

/** A write of a group commit threw: the whole transaction is rolled back and retried in savepoints. */
class WriteFailed extends Error {
  constructor(override readonly cause: unknown) {
    super("a write of the group commit failed");
  }
}

/** Settles one write of a commit: its value, or its own error translated. */
function settleOne({ write, ok, value }: Done, path: string): void {
  if (ok) write.resolve(value);
  else write.reject(translateSqliteError(value, path, "SQLite write failed"));
}

/** One open SQLite connection with its prepared statements. */
export class SqliteConnection {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  /** Set when a sync failed: every later write is refused with it. */
  private broken: Error | undefined;
  /**
   * Runs its argument in a transaction (`.deferred`, `.immediate`; called plainly inside one, in a
   * savepoint). Made once: better-sqlite3 builds four wrapper functions per `transaction()` call.
   */
  private readonly tx: BetterSqlite3.Transaction<(run: () => unknown) => unknown>;

  /**
   * `synchronous` is the connection's own setting; with `walSync` (the connection then runs with
   * NORMAL) group commits settle only after `walSync` has synced the WAL past them.
   */
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly s: Statements,
    private readonly path: string,
    private readonly synchronous: "FULL" | "NORMAL",
    private readonly notifications: NotificationHub,
    private readonly walSync?: WalSync,
    /** Told after every commit (the checkpointer's cue). */
    private readonly afterCommit?: () => void,
  ) {
    this.tx = db.transaction((run: () => unknown) => run());
  }

  /** Runs single statements outside any transaction (each is consistent on its own). */
  query<T>(fn: (s: Statements) => T): T {
    try {
      return fn(this.s);
    } catch (err) {
      throw translateSqliteError(err, this.path, "SQLite read failed");
    }
  }

  /** Runs several reads in one deferred transaction, so they see one state. */
  read<T>(fn: (s: Statements) => T): T {
    try {
      return this.tx.deferred(() => fn(this.s)) as T;
    } catch (err) {
      throw translateSqliteError(err, this.path, "SQLite read failed");
    }
  }

  /**
   * Runs `body` in a `BEGIN IMMEDIATE` transaction now, not synced, then delivers its
   * notifications: for leases, which a crash may lose since every commit is fenced by their
   * tokens (the next synced commit makes them durable along). Under FULL, SQLite's own sync is
   * switched off for this transaction only.
   */
  writeUnsynced<T>(hub: string, body: WriteBody<T>): T {
    if (this.broken) throw this.broken;
    const batch = new NotificationBatch();
    const sqliteSyncs = this.synchronous === "FULL";
    let result: T;
    try {
      if (sqliteSyncs) this.db.pragma("synchronous = OFF");
      try {
        result = this.tx.immediate(() => body(this.s, batch)) as T;
      } finally {
        if (sqliteSyncs) this.db.pragma(`synchronous = ${this.synchronous}`);
      }
    } catch (err) {
      throw translateSqliteError(err, this.path, "SQLite write failed");
    }
    this.afterCommit?.();
    this.notifications.emit(hub, batch.toList());
    return result;
  }

  /**
   * Queues a durable write for this turn's group commit; settles once it is committed and synced
   * (or failed). With `early` and a `walSync`, it settles as soon as it is committed, before the
   * sync: for the engine's own steps, whose effects (activities run, later commits) are either
   * at-least-once anyway or come later in the same log. `onCommitted` is told the value at that
   * moment whatever `early` says. Notifications always wait for the sync.
   */
  writeSoon<T>(
    hub: string,
    body: WriteBody<T>,
    options: { early?: boolean; onCommitted?: (value: T) => void } = {},
  ): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const early = options.early === true;
    const onCommitted = options.onCommitted as ((value: unknown) => void) | undefined;
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        hub,
        body,
        early,
        onCommitted,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /**
   * Commits every queued write now (also before the connection closes), in one transaction. The
   * writes run one after another; only if one throws is the transaction rolled back and run again
   * with each write in its own savepoint, so that the failing one changes nothing and fails alone.
   */
  flush(): void {
    this.scheduled = false;
    const writes = this.queue.splice(0);
    if (writes.length === 0) return;
    let done: Done[];
    try {
      try {
        done = this.commit(writes, false);
      } catch (err) {
        if (!(err instanceof WriteFailed) || writes.length === 1)
          throw err instanceof WriteFailed ? err.cause : err;
        done = this.commit(writes, true);
      }
    } catch (err) {
      const error = translateSqliteError(err, this.path, "SQLite write failed");
      for (const write of writes) write.reject(error);
      return;
    }
    this.afterCommit?.();
    for (const d of done) if (d.ok) d.write.onCommitted?.(d.value);
    if (!this.walSync) {
      this.settle(done, false);
      return;
    }
    for (const d of done) if (d.write.early) settleOne(d, this.path);
    this.walSync.request().then(
      () => this.settle(done, true),
      (err: unknown) => {
        // Committed but maybe not durable, and early writes were acted upon: refuse every later
        // write rather than build on what the disk may have lost.
        const error = new StoreUnavailableError(
          `syncing the write-ahead log of SQLite store '${this.path}' failed: ${String(err)}; ` +
            "the last writes may not be durable, and the store accepts no more writes",
          err,
        );
        this.broken = error;
        for (const { write } of done) if (!write.early) write.reject(error);
      },
    );
  }

  /** Delivers each committed write's notifications and settles its promise (unless already settled). */
  private settle(done: readonly Done[], synced: boolean): void {
    for (const d of done) {
      if (d.ok) this.notifications.emit(d.write.hub, d.batch.toList());
      if (!(synced && d.write.early)) settleOne(d, this.path);
    }
  }

  /**
   * Runs `writes` in one immediate transaction. Not `isolated`, a write that throws aborts the
   * transaction (as `WriteFailed`); `isolated`, each write runs in a savepoint (a nested
   * transaction) and one that throws is rolled back alone and reported as not ok.
   */
  private commit(writes: readonly QueuedWrite[], isolated: boolean): Done[] {
    const done: Done[] = [];
    this.tx.immediate(() => {
      for (const write of writes) {
        const batch = new NotificationBatch();
        if (!isolated) {
          try {
            done.push({ write, ok: true, value: write.body(this.s, batch), batch });
          } catch (err) {
            throw new WriteFailed(err);
          }
          continue;
        }
        try {
          const value = this.tx(() => write.body(this.s, batch));
          done.push({ write, ok: true, value, batch });
        } catch (error) {
          done.push({ write, ok: false, value: error, batch });
        }
      }
    });
    return done;
  }

  /** Commits the queued writes, closes the connection, and waits for their sync. */
  async close(): Promise<void> {
    this.flush();
    this.db.close();
    await this.walSync?.close();
  }
}
