/**
 * The SQLite store's checkpointer thread (ADR 012): its own connection to the store's file, on
 * which it runs a PASSIVE checkpoint each time the store asks (copying committed WAL frames into
 * the database file and syncing both), so that this I/O never runs on the event loop. It answers
 * each request with the checkpoint's outcome.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Database } from "./driver.js";

/** What the store passes to the thread. */
export interface CheckpointerSettings {
  path: string;
  busyTimeoutMs: number;
}

/** A message from the thread: the outcome of one checkpoint, or that it closed. */
export type FromCheckpointer = { t: "checkpointed" } | { t: "failed"; message: string } | { t: "closed" };

const port = parentPort;
if (!port) throw new Error("checkpointer-worker.js runs only as a worker thread of a SqliteStore");
const settings = workerData as CheckpointerSettings;

let db: InstanceType<typeof Database> | undefined;
function connection(): InstanceType<typeof Database> {
  if (!db) {
    db = new Database(settings.path, { timeout: settings.busyTimeoutMs, fileMustExist: true });
    // NORMAL syncs the WAL before each checkpoint and the database file after it completes.
    db.pragma("synchronous = NORMAL");
    db.pragma("wal_autocheckpoint = 0");
  }
  return db;
}

port.on("message", (message: "checkpoint" | "close") => {
  if (message === "close") {
    db?.close();
    db = undefined;
    port.postMessage({ t: "closed" } satisfies FromCheckpointer);
    port.close();
    return;
  }
  try {
    // PASSIVE copies what it can without waiting; frames a reader still needs wait for the next one.
    connection().pragma("wal_checkpoint(PASSIVE)");
    port.postMessage({ t: "checkpointed" } satisfies FromCheckpointer);
  } catch (err) {
    port.postMessage({
      t: "failed",
      message: err instanceof Error ? err.message : String(err),
    } satisfies FromCheckpointer);
  }
});
