/**
 * The shared set-up of the SQLite crash tests, twin of postgres-run.ts: a temp directory holding
 * the database file and the activity counts file, a client-only hub on that file, and a cleanup
 * that stops the hub and deletes the directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DurableClient, SqliteStore, TaskHub } from "../../src/index.js";
import { type StoreSpec, sqliteSpec } from "./store-spec.js";

/** One test's database, counts file and client. */
export interface SqliteRun {
  store: StoreSpec;
  countsFile: string;
  client: DurableClient;
  /** Stops the client hub and deletes the temp directory. */
  cleanup(): Promise<void>;
}

/** Creates the temp directory (named after `prefix`) and a client hub on a fresh database in it. */
export function startSqliteRun(prefix: string): SqliteRun {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = join(dir, "refrain.db");
  const clientHub = new TaskHub({ store: new SqliteStore({ path: dbPath }) });
  return {
    store: sqliteSpec(dbPath),
    countsFile: join(dir, "activity-executions.log"),
    client: clientHub.client,
    cleanup: async () => {
      try {
        await clientHub.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
