/** Runs the Store conformance suite against the SQLite store, one fresh file per test. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { storeConformanceSuite } from "./suite.js";

storeConformanceSuite("SqliteStore conformance", async () => {
  const dir = mkdtempSync(join(tmpdir(), "refrain-"));
  return {
    store: new SqliteStore({ path: join(dir, "refrain.db") }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
