/**
 * Keeps SQLite's checkpoints off the event loop (ADR 012). A checkpoint copies the frames the
 * write-ahead log has collected into the database file and syncs it; by default SQLite runs one
 * inside the COMMIT that takes the log past 1,000 pages, stalling the event loop for the copy
 * and two syncs. The store's own connection instead checkpoints only as a backstop (at
 * `BACKSTOP_PAGES`, when the copy left is small and the log can start over), and this class asks
 * a worker thread with its own connection for a PASSIVE checkpoint once the commits since the
 * last one changed `CHANGES_PER_CHECKPOINT` rows (about as many pages as SQLite's own threshold),
 * at most once per `INTERVAL_MS`. A PASSIVE checkpoint never blocks readers or writers. The thread
 * starts at the first request and keeps the process alive only while a checkpoint runs.
 */
import { Worker } from "node:worker_threads";
import type { CheckpointerSettings, FromCheckpointer } from "./checkpointer-worker.js";

/** The log size (pages) at which the store's own connection checkpoints: the backstop. */
export const BACKSTOP_PAGES = 10_000;

/** Rows changed (SQLite's `total_changes()`) between two checkpoints the thread is asked for. */
export const CHANGES_PER_CHECKPOINT = 4_000;

/** The shortest time between two checkpoints the thread is asked for. */
const INTERVAL_MS = 50;

const WORKER_URL = new URL("./checkpointer-worker.js", import.meta.url);

/** Asks a checkpointer thread for checkpoints of one database file. */
export class Checkpointer {
  private worker: Worker | undefined;
  private running = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private closing: Promise<void> | undefined;
  private done = 0;
  private lastError: string | undefined;
  /** Set when the thread failed: no more requests (the backstop remains). */
  private disabled = false;

  private changesAtLast = 0;

  /** `totalChanges` reads the store connection's count of rows changed since it opened. */
  constructor(
    private readonly settings: CheckpointerSettings,
    private readonly totalChanges: () => number,
  ) {}

  /** How many checkpoints the thread has completed. */
  get completed(): number {
    return this.done;
  }

  /** The last checkpoint's error, if the last one failed (the next request tries again). */
  get error(): string | undefined {
    return this.lastError;
  }

  /**
   * Called after every commit: asks for a checkpoint when enough rows changed since the last one,
   * unless one runs or began recently.
   */
  committed(): void {
    if (this.running || this.closing || this.disabled) return;
    const now = performance.now();
    if (now - this.lastStart < INTERVAL_MS) return;
    const changes = this.totalChanges();
    if (changes - this.changesAtLast < CHANGES_PER_CHECKPOINT) return;
    this.changesAtLast = changes;
    this.lastStart = now;
    this.running = true;
    const worker = this.thread();
    worker.ref();
    worker.postMessage("checkpoint");
  }

  /** Waits for a running checkpoint, then closes the thread's connection and ends it. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage("close");
    await exited;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL, { workerData: this.settings });
    worker.on("message", (m: FromCheckpointer) => this.receive(m));
    // A thread that fails stops checkpointing; the backstop of the store's connection remains.
    worker.on("error", (err) => {
      this.lastError = err.message;
      this.disabled = true;
      this.running = false;
    });
    worker.on("exit", () => {
      this.worker = undefined;
      this.running = false;
    });
    this.worker = worker;
    return worker;
  }

  private receive(m: FromCheckpointer): void {
    switch (m.t) {
      case "checkpointed":
        this.done++;
        this.lastError = undefined;
        break;
      case "failed":
        this.lastError = m.message;
        break;
      case "closed":
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown message from the checkpointer: ${JSON.stringify(never)}`);
      }
    }
    this.running = false;
    if (!this.closing) this.worker?.unref();
  }
}
