/**
 * Makes SQLite commits durable off the event loop. With `synchronous=FULL`, SQLite syncs the
 * write-ahead log inside `COMMIT`, which blocks the event loop for as long as the disk takes.
 * Instead the connection commits with `synchronous=NORMAL` (the WAL is written but not synced;
 * SQLite still syncs it before every checkpoint, and the database file after) and this class
 * syncs the WAL file on libuv's thread pool; a write's promise settles only after a sync that
 * began after its commit, so a write is still durable before its call returns.
 *
 * The WAL is one sequential log: a sync covers every commit written before it began, and a
 * commit that depends on an earlier one (an activity's result on its scheduling) comes later in
 * the log, so nothing can be durable while something it depends on is not. Syncs run one at a
 * time; the requests that arrive during one are served together by the next (a group sync).
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from "node:fs";

/** A waiter for the next sync. */
interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Syncs one database's `-wal` file on request, one sync at a time. */
export class WalSync {
  private fd: number | undefined;
  private inode: number | undefined;
  private running: Promise<void> | undefined;
  private waiting: Waiter[] = [];
  private syncs = 0;

  /** `walPath` is the database path plus "-wal". */
  constructor(private readonly walPath: string) {}

  /** Resolves after a sync of the WAL that began after this call; rejects if that sync failed. */
  request(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.running = this.next();
    });
  }

  /** How many syncs have completed (each may have served many requests). */
  get completedSyncs(): number {
    return this.syncs;
  }

  /** Waits for every requested sync, then closes the file. */
  async close(): Promise<void> {
    while (this.running) await this.running;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private async next(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        await this.syncOnce();
        this.syncs++;
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = undefined;
  }

  /** One sync; async so that even a failure to open the file settles after `running` is set. */
  private async syncOnce(): Promise<void> {
    const fd = this.currentFd();
    await new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** The open WAL file, reopened if the path now names another file than the one held. */
  private currentFd(): number {
    const inode = statSync(this.walPath).ino;
    if (this.fd !== undefined && inode === this.inode) return this.fd;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(this.walPath, "r");
    this.inode = fstatSync(this.fd).ino;
    return this.fd;
  }
}
