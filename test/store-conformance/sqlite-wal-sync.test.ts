/**
 * SQLite with `synchronous: "FULL"` on a file syncs its write-ahead log off the event loop
 * (ADR 011): requests made during a sync are served together by the next one; client writes
 * settle only after a sync, the engine's step commits as soon as they are committed; a failed sync
 * fails the writes waiting for it and every later write; in-memory files keep SQLite's own sync.
 */
import assert from "node:assert/strict";
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { WalSync } from "../../src/store/sqlite/wal-sync.js";
import {
  ACT,
  activityTask,
  checkpointFor,
  HUB,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  rejectsWithCode,
  WORKER,
} from "./fixtures.js";
import { useSqliteFiles } from "./sqlite-files.js";

describe("SQLite WAL sync off the event loop", () => {
  const files = useSqliteFiles("refrain-walsync-");
  let dir: string;
  let file: string;
  beforeEach(() => {
    ({ dir, file } = files);
  });
  const openStore = files.open;

  test("FULL on a file syncs off the event loop; NORMAL and in-memory files leave it to SQLite", async () => {
    const store = await openStore();
    assert.deepStrictEqual(
      { synchronous: store.diagnostics().synchronous, off: store.diagnostics().syncsOffEventLoop },
      { synchronous: "FULL", off: true },
    );
    const normal = await openStore({ path: join(dir, "normal.db"), synchronous: "NORMAL" });
    assert.equal(normal.diagnostics().syncsOffEventLoop, false);
    const memory = await openStore({ path: ":memory:" });
    assert.deepStrictEqual(
      { synchronous: memory.diagnostics().synchronous, off: memory.diagnostics().syncsOffEventLoop },
      { synchronous: "FULL", off: false },
    );
  });

  test("requests made while a sync runs are served together by the next sync", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a")); // the WAL file exists from here on
    const sync = new WalSync(`${file}-wal`);
    try {
      const first = sync.request();
      const during = Array.from({ length: 5 }, () => sync.request());
      await Promise.all([first, ...during]);
      assert.equal(sync.completedSyncs, 2);
      await sync.request();
      assert.equal(sync.completedSyncs, 3);
    } finally {
      await sync.close();
    }
  });

  test("a client write settles after its sync; a step commit as soon as it is committed", async () => {
    const store = await openStore();
    const seen: string[] = [];
    store.subscribe(HUB, (n) => {
      if (n.kind === "instance-updated") seen.push(`note:${n.runtimeStatus}`);
    });
    await store.createInstance(HUB, newInstance("a"));
    assert.deepStrictEqual(
      seen,
      ["note:Pending"],
      "the creation's notification came before its call returned",
    );
    const item = await leaseOrchestration(store);
    const commit = store.commitOrchestrations(HUB, [
      { lease: item.lease, checkpoint: checkpointFor(item, { instance: { runtimeStatus: "Completed" } }) },
    ]);
    const outcomes = await commit;
    assert.deepStrictEqual(
      outcomes.map((o) => o.committed),
      [true],
    );
    // Settled before the sync: its notification comes once the sync is done.
    assert.deepStrictEqual(seen, ["note:Pending"]);
    assert.equal((await store.getInstance(HUB, "a"))?.runtimeStatus, "Completed");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepStrictEqual(seen, ["note:Pending", "note:Completed"]);
  });

  test("a creation tells its claimed tasks at the commit and settles after the sync", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("warm-up")); // the WAL file exists from here on
    const order: string[] = [];
    const step = {
      history: { mode: "append" as const, events: [] },
      consumedMessageIds: [],
      instance: { executionId: "s-e1", runtimeStatus: "Running" as const, lastUpdatedAt: Date.now() },
      activities: [activityTask("s", "s-e1", 0)],
      messages: [],
      children: [],
    };
    const returned = await store
      .createInstance(HUB, newInstance("s"), {
        firstStep: step,
        claim: { workerId: WORKER, names: [ACT], leaseMs: LONG_LEASE, max: 5 },
        onCommitted: (claimed) => order.push(`told:${claimed.map((c) => c.task.taskId).join(",")}`),
      })
      .then((r) => {
        order.push("settled");
        return r;
      });
    assert.deepStrictEqual(order, ["told:0", "settled"]);
    assert.deepStrictEqual(returned, []);
  });

  test("a failed sync fails the writes waiting for it and every later write", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a"));
    unlinkSync(`${file}-wal`); // SQLite keeps writing to the open file; the store cannot sync it by name
    await rejectsWithCode(store.createInstance(HUB, newInstance("b")), "STORE_UNAVAILABLE");
    await rejectsWithCode(store.createInstance(HUB, newInstance("c")), "STORE_UNAVAILABLE");
    assert.ok(await store.getInstance(HUB, "a"), "reads still work");
  });
});
