/**
 * The SQLite store's connection and its transactions: plain reads, consistent multi-statement
 * reads, immediate write transactions (durable, or not synced for leases), and the group commit
 * of durable writes. Every durable write requested in one turn of the event loop (instance
 * creations, messages, checkpoints, activity completions, from any caller) runs in one
 * transaction with one fsync, each write in its own savepoint so that one that throws changes
 * nothing and fails alone. A write's promise settles after the shared commit, so a write is
 * durable before its call returns. Notifications are delivered after the commit.
 */
import type BetterSqlite3 from "better-sqlite3";
import { NotificationBatch, type NotificationHub } from "../common.js";
import { translateSqliteError } from "./sqlite-errors.js";
import type { Statements } from "./statements.js";

/** The body of a write: statements, plus the notifications it produces. */
export type WriteBody<T> = (s: Statements, batch: NotificationBatch) => T;

interface QueuedWrite {
  hub: string;
  body: WriteBody<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** One open SQLite connection with its prepared statements. */
export class SqliteConnection {
  private queue: QueuedWrite[] = [];
  private scheduled = false;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly s: Statements,
    private readonly path: string,
    private readonly synchronous: "FULL" | "NORMAL",
    private readonly notifications: NotificationHub,
  ) {}

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
      return this.db.transaction(() => fn(this.s)).deferred();
    } catch (err) {
      throw translateSqliteError(err, this.path, "SQLite read failed");
    }
  }

  /**
   * Runs `body` in a `BEGIN IMMEDIATE` transaction now, then delivers its notifications. With
   * `durable: false` the commit is not synced (`synchronous=OFF` for that transaction only): for
   * leases, which a crash may lose since every commit is fenced by their tokens.
   */
  write<T>(hub: string, body: WriteBody<T>, options: { durable?: boolean } = {}): T {
    const batch = new NotificationBatch();
    const unsynced = options.durable === false && this.synchronous === "FULL";
    let result: T;
    try {
      if (unsynced) this.db.pragma("synchronous = OFF");
      try {
        result = this.db.transaction(() => body(this.s, batch)).immediate();
      } finally {
        if (unsynced) this.db.pragma(`synchronous = ${this.synchronous}`);
      }
    } catch (err) {
      throw translateSqliteError(err, this.path, "SQLite write failed");
    }
    this.notifications.emit(hub, batch.toList());
    return result;
  }

  /** Queues a durable write for this turn's group commit; settles once it is committed (or failed). */
  writeSoon<T>(hub: string, body: WriteBody<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ hub, body, resolve: resolve as (value: unknown) => void, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /** Commits every queued write now (also before the connection closes). */
  flush(): void {
    this.scheduled = false;
    const writes = this.queue.splice(0);
    if (writes.length === 0) return;
    const done: { write: QueuedWrite; ok: boolean; value: unknown; batch: NotificationBatch }[] = [];
    const only = writes.length === 1 ? writes[0] : undefined;
    try {
      this.db
        .transaction(() => {
          if (only) {
            // Alone in its transaction, a write needs no savepoint: if it throws, nothing commits.
            const batch = new NotificationBatch();
            done.push({ write: only, ok: true, value: only.body(this.s, batch), batch });
            return;
          }
          for (const write of writes) {
            const batch = new NotificationBatch();
            try {
              // A nested transaction is a savepoint: a write that throws is rolled back alone.
              const value = this.db.transaction(() => write.body(this.s, batch))();
              done.push({ write, ok: true, value, batch });
            } catch (error) {
              done.push({ write, ok: false, value: error, batch });
            }
          }
        })
        .immediate();
    } catch (err) {
      const error = translateSqliteError(err, this.path, "SQLite write failed");
      for (const write of writes) write.reject(error);
      return;
    }
    for (const { write, ok, value, batch } of done) {
      if (!ok) {
        write.reject(translateSqliteError(value, this.path, "SQLite write failed"));
        continue;
      }
      this.notifications.emit(write.hub, batch.toList());
      write.resolve(value);
    }
  }

  /** Commits the queued writes and closes the connection. */
  close(): void {
    this.flush();
    this.db.close();
  }
}
