/**
 * Conformance: the batched calls — leasing several instances or tasks in one call (with the
 * history left out when the caller already holds it), and committing or completing several in one
 * transaction where a lost lease refuses only its own item.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ACT,
  activityTask,
  checkpointFor,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  newInstance,
  ORCH,
  OTHER_HUB,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  someEvents,
  taskCompleted,
  WORKER,
} from "./fixtures.js";

/** Declares the batch tests. */
export function batchTests(h: StoreHarness): void {
  describe("batched leases and commits", () => {
    test("leaseOrchestrations takes up to max instances, oldest message first, each once", async () => {
      const t = Date.now() - 1000;
      for (const [id, at] of [
        ["b", t + 2],
        ["a", t + 1],
        ["c", t + 3],
      ] as const) {
        await h.store.createInstance(HUB, newInstance(id, { visibleAt: at }));
      }
      const first = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 2 });
      assert.deepStrictEqual(
        first.map((i) => i.instance.instanceId),
        ["a", "b"],
      );
      assert.equal(new Set(first.map((i) => i.lease.token)).size, 2, "a token per lease");
      const rest = await h.store.leaseOrchestrations(HUB, "other", [ORCH], LONG_LEASE, { max: 5 });
      assert.deepStrictEqual(
        rest.map((i) => [i.instance.instanceId, i.lease.workerId, i.messages.length]),
        [["c", "other", 1]],
      );
      assert.deepStrictEqual(
        await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 5 }),
        [],
      );
    });

    test("a batch lease walks past repeated, ownerless and leased messages, each instance once", async () => {
      const t = Date.now() - 10_000;
      // Oldest first: an instance another worker holds; one with 31 messages (more than a slice
      // of SQLite's walk); 5 messages for an ID with no row; 25 instances with one message each.
      const ghostly = Array.from({ length: 5 }, (_, i) => eventMessage("ghost", `e${i}`, t + 3));
      await instanceWithStatus(h.store, "sender", "Running", { messages: ghostly });
      await h.store.createInstance(HUB, newInstance("lead", { visibleAt: t }));
      const [lead] = await h.store.leaseOrchestrations(HUB, "other", [ORCH], LONG_LEASE, { max: 1 });
      assert.equal(lead?.instance.instanceId, "lead");
      await h.store.createInstance(HUB, newInstance("busy", { visibleAt: t + 1 }));
      for (let i = 0; i < 30; i++) await h.store.appendMessage(HUB, eventMessage("busy", `e${i}`, t + 2));
      const ids = Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, "0")}`);
      for (const [i, id] of ids.entries())
        await h.store.createInstance(HUB, newInstance(id, { visibleAt: t + 4 + i }));

      const first = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 20 });
      assert.deepStrictEqual(
        first.map((i) => [i.instance.instanceId, i.messages.length]),
        [["busy", 31], ...ids.slice(0, 19).map((id) => [id, 1])],
      );
      const rest = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 20 });
      assert.deepStrictEqual(
        rest.map((i) => i.instance.instanceId),
        ids.slice(19),
      );
      const stats = await h.store.queueStats(HUB, Date.now());
      assert.equal(stats.messages, 1 + 31 + 25, "the ghost's messages are gone, every other one stays");
    });

    test("the history is left out exactly when `known` matches the stored execution and length", async () => {
      await instanceWithStatus(h.store, "k", "Running", {
        history: { mode: "append", events: someEvents(2) },
      });
      const cases: [string, { executionId: string; length: number } | undefined, boolean][] = [
        ["matching", { executionId: "k-e1", length: 3 }, true],
        ["shorter", { executionId: "k-e1", length: 2 }, false],
        ["other execution", { executionId: "k-e0", length: 3 }, false],
        ["unknown", undefined, false],
      ];
      for (const [what, known, omitted] of cases) {
        await h.store.appendMessage(HUB, eventMessage("k", "go"));
        const [item] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, {
          max: 1,
          known: (id) => (id === "k" ? known : undefined),
        });
        assert.ok(item, what);
        assert.equal(item.historyOmitted === true, omitted, `${what}: historyOmitted`);
        assert.equal(item.history.length, omitted ? 0 : 3, `${what}: history`);
        assert.equal(item.messages.length, 1, `${what}: the message comes either way`);
        await h.store.commitOrchestration(item.lease, checkpointFor(item));
      }
    });

    test("commitOrchestrations commits each step; a lost lease refuses only its own", async () => {
      for (const id of ["p", "q", "r"]) await h.store.createInstance(HUB, newInstance(id));
      const items = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], 30, { max: 3 });
      assert.equal(items.length, 3);
      await sleep(50);
      const thief = await h.store.leaseOrchestrations(HUB, "thief", [ORCH], LONG_LEASE, { max: 1 });
      const stolen = thief[0]!.instance.instanceId;
      const commits = items.map((item) => ({
        lease: item.lease,
        checkpoint: checkpointFor(item, {
          history: { mode: "append", events: someEvents(1) },
          activities: [activityTask(item.instance.instanceId, item.instance.executionId, 0)],
        }),
      }));
      const outcomes = await h.store.commitOrchestrations(HUB, commits);
      assert.deepStrictEqual(
        outcomes.map((o, i) => [items[i]!.instance.instanceId, o.committed, o.committed ? "" : o.error.code]),
        items.map((item) =>
          item.instance.instanceId === stolen
            ? [stolen, false, "LEASE_LOST"]
            : [item.instance.instanceId, true, ""],
        ),
      );
      for (const item of items) {
        const id = item.instance.instanceId;
        const history = await h.store.getHistory(HUB, id);
        assert.equal(history.length, id === stolen ? 0 : 2, `history of ${id}`);
        assert.equal(
          (await h.store.getInstance(HUB, id))?.runtimeStatus,
          id === stolen ? "Pending" : "Running",
        );
      }
      const tasks = await h.store.leaseActivities(HUB, WORKER, [ACT], LONG_LEASE, 10);
      assert.deepStrictEqual(
        tasks.map((t) => t.task.instanceId).sort(),
        items
          .map((i) => i.instance.instanceId)
          .filter((id) => id !== stolen)
          .sort(),
      );
      assert.deepStrictEqual(await h.store.commitOrchestrations(HUB, []), []);
    });

    test("a lease of another hub is refused in a batch and changes nothing there", async () => {
      await h.store.createInstance(OTHER_HUB, newInstance("x"));
      const [item] = await h.store.leaseOrchestrations(OTHER_HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
      const [outcome] = await h.store.commitOrchestrations(HUB, [
        { lease: item!.lease, checkpoint: checkpointFor(item!) },
      ]);
      assert.equal(outcome?.committed, false);
      assert.equal((await h.store.getInstance(OTHER_HUB, "x"))?.runtimeStatus, "Pending");
    });

    test("leaseActivities takes up to max tasks, oldest first; completeActivities refuses only lost leases", async () => {
      await instanceWithStatus(h.store, "a", "Running", {
        activities: [0, 1, 2].map((n) => activityTask("a", "a-e1", n)),
      });
      const first = await h.store.leaseActivities(HUB, WORKER, [ACT], 30, 2);
      assert.deepStrictEqual(
        first.map((t) => [t.task.taskId, t.task.deliveryCount]),
        [
          [0, 1],
          [1, 1],
        ],
      );
      const [third] = await h.store.leaseActivities(HUB, WORKER, [ACT], LONG_LEASE, 2);
      assert.equal(third?.task.taskId, 2);
      await sleep(50);
      const [retaken] = await h.store.leaseActivities(HUB, "thief", [ACT], LONG_LEASE, 1);
      assert.equal(retaken?.task.taskId, 0);
      const outcomes = await h.store.completeActivities(
        HUB,
        [...first, third!].map((t) => ({
          lease: t.lease,
          result: taskCompleted(t.task.taskId, `${t.task.taskId}`),
        })),
      );
      assert.deepStrictEqual(
        outcomes.map((o) => o.committed),
        [false, true, true],
      );
      const [inbox] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
      assert.deepStrictEqual(
        inbox?.messages.map((m) => (m.event.kind === "TaskCompleted" ? m.event.taskScheduledId : -1)),
        [1, 2],
      );
    });

    test("batch sizes outside 1..1000 are INVALID_ARGUMENT", async () => {
      for (const max of [0, -1, 1.5, 1001]) {
        await rejectsWithCode(
          h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max }),
          "INVALID_ARGUMENT",
        );
        await rejectsWithCode(
          h.store.leaseActivities(HUB, WORKER, [ACT], LONG_LEASE, max),
          "INVALID_ARGUMENT",
        );
      }
    });
  });
}
