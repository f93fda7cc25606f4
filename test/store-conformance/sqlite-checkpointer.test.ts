/**
 * SQLite checkpoints off the event loop (ADR 012): a store on a file has its write-ahead log
 * copied into the database by its checkpointer thread once enough rows changed, and on close leaves
 * a complete database and no log behind; a store in memory checkpoints as SQLite does.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { CHANGES_PER_CHECKPOINT } from "../../src/store/sqlite/checkpointer.js";
import { Database } from "../../src/store/sqlite/driver.js";
import type { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventually } from "../hub/fixtures.js";
import { HUB, newInstance } from "./fixtures.js";
import { useSqliteFiles } from "./sqlite-files.js";

/** Creates `count` instances in one group commit (each changes two rows: instance and start message). */
async function createMany(store: SqliteStore, prefix: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) => store.createInstance(HUB, newInstance(`${prefix}${i}`))),
  );
}

describe("SQLite checkpoints off the event loop", () => {
  const files = useSqliteFiles("refrain-checkpoint-");

  test("a file's log is checkpointed by the thread once enough rows changed", async () => {
    const store = await files.open();
    assert.equal(store.diagnostics().checkpointsOffEventLoop, true);
    await createMany(store, "a", 10);
    assert.equal(store.diagnostics().threadCheckpoints, 0, "too few changes to ask for one");
    await createMany(store, "b", CHANGES_PER_CHECKPOINT / 2 + 10);
    await store.createInstance(HUB, newInstance("after")); // a commit after the threshold was passed
    await eventually("a checkpoint on the thread", () => store.diagnostics().threadCheckpoints >= 1);
  });

  test("close leaves every write in the database file and no log behind", async () => {
    const count = CHANGES_PER_CHECKPOINT / 2 + 50;
    const store = await files.open();
    await createMany(store, "c", count);
    await store.createInstance(HUB, newInstance("last"));
    await eventually("a checkpoint on the thread", () => store.diagnostics().threadCheckpoints >= 1);
    await createMany(store, "d", 20); // written after the thread's checkpoint
    await store.close();
    assert.equal(
      existsSync(`${files.file}-wal`),
      false,
      "the last connection checkpointed and removed the log",
    );
    const reader = new Database(files.file, { readonly: true });
    try {
      const rows = reader.prepare("SELECT count(*) FROM instances WHERE hub = ?").pluck().get(HUB);
      assert.equal(rows, count + 21);
    } finally {
      reader.close();
    }
  });

  test("an in-memory store checkpoints as SQLite does", async () => {
    const store = await files.open({ path: ":memory:" });
    await createMany(store, "m", CHANGES_PER_CHECKPOINT / 2 + 10);
    await store.createInstance(HUB, newInstance("after"));
    assert.deepStrictEqual(
      { off: store.diagnostics().checkpointsOffEventLoop, thread: store.diagnostics().threadCheckpoints },
      { off: false, thread: 0 },
    );
  });
});
