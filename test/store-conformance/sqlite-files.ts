/**
 * A fresh directory with a SQLite file path for each test, and the stores a test opens on it,
 * closed (and the directory removed) after the test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

/** The current test's directory and file, and stores opened on them. */
export interface SqliteFiles {
  /** This test's fresh directory. */
  readonly dir: string;
  /** `refrain.db` in it (not created until a store opens it). */
  readonly file: string;
  /** Opens a store (on `file` unless `options.path` says otherwise), closed after the test. */
  open(options?: ConstructorParameters<typeof SqliteStore>[0]): Promise<SqliteStore>;
  /** Closes `store` after the test. */
  track(store: SqliteStore): SqliteStore;
}

/** Registers the per-test setup and cleanup in the calling `describe`. */
export function useSqliteFiles(prefix = "refrain-"): SqliteFiles {
  let dir = "";
  const opened: SqliteStore[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const files: SqliteFiles = {
    get dir() {
      return dir;
    },
    get file() {
      return join(dir, "refrain.db");
    },
    track(store) {
      opened.push(store);
      return store;
    },
    async open(options = {}) {
      const store = files.track(new SqliteStore({ path: files.file, ...options }));
      await store.open();
      return store;
    },
  };
  return files;
}
