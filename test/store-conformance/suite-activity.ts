/**
 * Conformance: the activity task queue — leasing, completion into the instance inbox, expiry and
 * redelivery, renewal and abandonment.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Store } from "../../src/store/store.js";
import {
  ACT,
  activityTask,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseActivity,
  leaseOrchestration,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  taskCompleted,
  taskFailed,
  WORKER,
} from "./fixtures.js";

/** Makes instance "a" (Running, execution "a-e1") with the given activity tasks queued in order. */
async function withTasks(store: Store, ...tasks: { taskId: number; name?: string }[]): Promise<void> {
  await instanceWithStatus(store, "a", "Running", {
    activities: tasks.map((t) => activityTask("a", "a-e1", t.taskId, t.name)),
  });
}

/** Declares the activity queue tests. */
export function activityTests(h: StoreHarness): void {
  describe("activity tasks", () => {
    test("leasing returns the task with deliveryCount 1 and a lease", async () => {
      await withTasks(h.store, { taskId: 4 });
      const before = Date.now();
      const item = await leaseActivity(h.store, HUB, "w-a", 10_000);
      assert.deepStrictEqual(item.task, {
        ...activityTask("a", "a-e1", 4),
        id: item.task.id,
        deliveryCount: 1,
      });
      assert.deepStrictEqual(
        { hub: item.lease.hub, taskId: item.lease.taskId, workerId: item.lease.workerId },
        { hub: HUB, taskId: item.task.id, workerId: "w-a" },
      );
      assert.ok(item.lease.expiresAt >= before + 10_000 && item.lease.expiresAt <= Date.now() + 10_000);
      assert.equal(await h.store.leaseNextActivity(HUB, "w-b", [ACT], LONG_LEASE), undefined, "exclusive");
    });

    test("tasks are leased oldest first and only for the given names", async () => {
      await withTasks(h.store, { taskId: 1 }, { taskId: 2, name: "Other" }, { taskId: 3 });
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, ["Nope"], LONG_LEASE), undefined);
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [], LONG_LEASE), undefined);
      const ids: number[] = [];
      for (let i = 0; i < 2; i++) ids.push((await leaseActivity(h.store)).task.taskId);
      assert.deepStrictEqual(ids, [1, 3]);
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
      assert.equal((await leaseActivity(h.store, HUB, WORKER, LONG_LEASE, ["Other"])).task.taskId, 2);
    });

    for (const kind of ["TaskCompleted", "TaskFailed"] as const) {
      test(`completing with ${kind} deletes the task and queues the result for its execution`, async () => {
        await withTasks(h.store, { taskId: 4 });
        const item = await leaseActivity(h.store);
        const result =
          kind === "TaskCompleted"
            ? taskCompleted(4, '"done"')
            : taskFailed(4, { name: "Error", message: "nope" });
        await h.store.completeActivity(item.lease, result);
        assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
        assert.equal(await h.store.nextWakeUp(HUB, [], [ACT]), undefined, "the task is gone");
        const orch = await leaseOrchestration(h.store);
        assert.equal(orch.instance.instanceId, "a");
        assert.deepStrictEqual(
          orch.messages.map((m) => [m.instanceId, m.executionId, m.event]),
          [["a", "a-e1", result]],
        );
        await rejectsWithCode(h.store.completeActivity(item.lease, result), "LEASE_LOST");
      });
    }

    test("an expired lease is redelivered with deliveryCount 2; the first holder cannot complete", async () => {
      await withTasks(h.store, { taskId: 1 });
      const first = await leaseActivity(h.store, HUB, "w1", 30);
      await sleep(60);
      const second = await leaseActivity(h.store, HUB, "w2");
      assert.equal(second.task.id, first.task.id);
      assert.equal(second.task.deliveryCount, 2);
      assert.notEqual(second.lease.token, first.lease.token);
      await rejectsWithCode(h.store.completeActivity(first.lease, taskCompleted(1, '"stale"')), "LEASE_LOST");
      await rejectsWithCode(h.store.renewActivityLease(first.lease, 1000), "LEASE_LOST");
      assert.equal(
        await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE),
        undefined,
        "no stale result",
      );
      await h.store.completeActivity(second.lease, taskCompleted(1, '"fresh"'));
      const orch = await leaseOrchestration(h.store);
      assert.deepStrictEqual(
        orch.messages.map((m) => m.event),
        [taskCompleted(1, '"fresh"')],
      );
    });

    test("every delivery, after expiry or abandonment, increments deliveryCount", async () => {
      await withTasks(h.store, { taskId: 1 });
      const counts: number[] = [];
      for (let i = 0; i < 2; i++) {
        counts.push((await leaseActivity(h.store, HUB, `w${i}`, 30)).task.deliveryCount);
        await sleep(60);
      }
      const third = await leaseActivity(h.store, HUB, "w2");
      counts.push(third.task.deliveryCount);
      await h.store.abandonActivity(third.lease);
      counts.push((await leaseActivity(h.store, HUB, "w3")).task.deliveryCount);
      assert.deepStrictEqual(counts, [1, 2, 3, 4]);
    });

    test("an expired lease that nobody took may still complete", async () => {
      await withTasks(h.store, { taskId: 1 });
      const item = await leaseActivity(h.store, HUB, "w1", 30);
      await sleep(60);
      await h.store.completeActivity(item.lease, taskCompleted(1));
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
    });

    test("renewing keeps the task from being redelivered", async () => {
      await withTasks(h.store, { taskId: 1 });
      const item = await leaseActivity(h.store, HUB, "w1", 30);
      const before = Date.now();
      const renewed = await h.store.renewActivityLease(item.lease, 5_000);
      assert.deepStrictEqual({ ...renewed, expiresAt: 0 }, { ...item.lease, expiresAt: 0 });
      assert.ok(renewed.expiresAt >= before + 5_000);
      await sleep(60);
      assert.equal(await h.store.leaseNextActivity(HUB, "w2", [ACT], LONG_LEASE), undefined);
      await h.store.completeActivity(renewed, taskCompleted(1));
    });

    test("nextWakeUp leaves out tasks held by a lease", async () => {
      await withTasks(h.store, { taskId: 1 }, { taskId: 2 });
      await leaseActivity(h.store, HUB, "w1");
      const wake = await h.store.nextWakeUp(HUB, [], [ACT]);
      assert.ok(wake !== undefined && wake <= Date.now(), "the other task is due");
      const second = await leaseActivity(h.store, HUB, "w1");
      assert.equal(await h.store.nextWakeUp(HUB, [], [ACT]), undefined, "both are held");
      const before = Date.now();
      await h.store.abandonActivity(second.lease, 5_000);
      const again = await h.store.nextWakeUp(HUB, [], [ACT]);
      assert.ok(
        again !== undefined && again >= before + 5_000 && again <= Date.now() + 5_000,
        `wake-up at ${again}`,
      );
    });

    test("abandoning redelivers the task, after the delay", async () => {
      await withTasks(h.store, { taskId: 1 });
      const item = await leaseActivity(h.store, HUB, "w1");
      const before = Date.now();
      await h.store.abandonActivity(item.lease, 300);
      assert.equal(await h.store.leaseNextActivity(HUB, "w2", [ACT], LONG_LEASE), undefined);
      const wake = await h.store.nextWakeUp(HUB, [], [ACT]);
      assert.ok(wake !== undefined && wake >= before + 300 && wake <= Date.now() + 300, `wake-up at ${wake}`);
      await sleep(Math.max(0, wake - Date.now()) + 20);
      const again = await leaseActivity(h.store, HUB, "w2");
      assert.equal(again.task.id, item.task.id);
      assert.equal(again.task.deliveryCount, 2);
      await rejectsWithCode(h.store.completeActivity(item.lease, taskCompleted(1)), "LEASE_LOST");
    });

    test("abandoning without a delay makes the task leasable at once", async () => {
      await withTasks(h.store, { taskId: 1 });
      const item = await leaseActivity(h.store, HUB, "w1");
      await h.store.abandonActivity(item.lease);
      const again = await leaseActivity(h.store, HUB, "w2");
      assert.equal(again.task.id, item.task.id);
    });

    test("abandoning a lost lease is ignored", async () => {
      await withTasks(h.store, { taskId: 1 });
      const stale = await leaseActivity(h.store, HUB, "w1", 30);
      await sleep(60);
      const fresh = await leaseActivity(h.store, HUB, "w2");
      await h.store.abandonActivity(stale.lease, 10_000);
      assert.equal(await h.store.leaseNextActivity(HUB, "w3", [ACT], LONG_LEASE), undefined);
      await h.store.completeActivity(fresh.lease, taskCompleted(1));
      const orch = await leaseOrchestration(h.store);
      assert.equal(orch.messages.length, 1);
    });
  });
}
