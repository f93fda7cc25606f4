/**
 * Conformance: creating instances (the duplicate rule), appending messages, start visibility and
 * wake-up times.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { InstanceRecord } from "../../src/store/store.js";
import { eventually } from "../hub/fixtures.js";
import {
  ACT,
  ACTIVE_STATUSES,
  activityTask,
  checkpointFor,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  ORCH,
  OTHER_HUB,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  someEvents,
  TERMINAL_STATUSES,
  WORKER,
} from "./fixtures.js";

/** Declares the instance-creation and message tests. */
export function instanceTests(h: StoreHarness): void {
  describe("createInstance", () => {
    test("stores a Pending row with exactly the given fields", async () => {
      const parent = { instanceId: "p", executionId: "p-e1", name: ORCH, taskScheduledId: 3 };
      const created = newInstance("i1", { input: '{"a":1}', parent, createdAt: 1_700_000_000_000 });
      await h.store.createInstance(HUB, created);
      const expected: InstanceRecord = {
        instanceId: "i1",
        name: ORCH,
        executionId: "i1-e1",
        runtimeStatus: "Pending",
        input: '{"a":1}',
        parent,
        createdAt: 1_700_000_000_000,
        lastUpdatedAt: 1_700_000_000_000,
      };
      assert.deepStrictEqual(await h.store.getInstance(HUB, "i1"), expected);
    });

    test("a row without optional fields has no keys for them", async () => {
      await h.store.createInstance(HUB, newInstance("i1", { createdAt: 5 }));
      const row = await h.store.getInstance(HUB, "i1");
      assert.deepStrictEqual(Object.keys(row ?? {}).sort(), [
        "createdAt",
        "executionId",
        "instanceId",
        "lastUpdatedAt",
        "name",
        "runtimeStatus",
      ]);
    });

    test("queues the start message, targeted at the execution", async () => {
      const created = newInstance("i1", { input: '"x"' });
      await h.store.createInstance(HUB, created);
      const item = await leaseOrchestration(h.store);
      assert.equal(item.instance.instanceId, "i1");
      assert.deepStrictEqual(item.history, []);
      assert.equal(item.messages.length, 1);
      const [message] = item.messages;
      assert.equal(typeof message?.id, "string");
      assert.deepStrictEqual(message, {
        id: message?.id,
        instanceId: "i1",
        executionId: "i1-e1",
        event: created.started,
        visibleAt: created.visibleAt,
      });
    });

    test("unknown instances: getInstance is undefined and getHistory is empty", async () => {
      assert.equal(await h.store.getInstance(HUB, "nope"), undefined);
      assert.deepStrictEqual(await h.store.getHistory(HUB, "nope"), []);
    });

    test("two creations of one ID at the same moment: the first wins, the second conflicts", async () => {
      const [first, second] = await Promise.allSettled([
        h.store.createInstance(HUB, newInstance("same", { executionId: "same-e1" })),
        h.store.createInstance(HUB, newInstance("same", { executionId: "same-e2" })),
      ]);
      assert.equal(first.status, "fulfilled");
      assert.equal(second.status, "rejected");
      assert.equal((second as PromiseRejectedResult).reason.code, "INSTANCE_ALREADY_EXISTS");
      assert.equal((await h.store.getInstance(HUB, "same"))?.executionId, "same-e1");
    });

    for (const status of ACTIVE_STATUSES) {
      test(`an existing ${status} instance conflicts and is left unchanged`, async () => {
        await instanceWithStatus(h.store, "dup", status, {
          history: { mode: "append", events: someEvents(1) },
        });
        const before = await h.store.getInstance(HUB, "dup");
        const historyBefore = await h.store.getHistory(HUB, "dup");
        await assert.rejects(
          h.store.createInstance(HUB, newInstance("dup", { executionId: "dup-e2" })),
          (err) => {
            assert.equal((err as { code?: string }).code, "INSTANCE_ALREADY_EXISTS");
            assert.match(String(err), new RegExp(status));
            return true;
          },
        );
        assert.deepStrictEqual(await h.store.getInstance(HUB, "dup"), before);
        assert.deepStrictEqual(await h.store.getHistory(HUB, "dup"), historyBefore);
      });
    }

    for (const status of TERMINAL_STATUSES) {
      test(`an existing ${status} instance is replaced with its history, inbox and tasks`, async () => {
        await instanceWithStatus(h.store, "dup", status, {
          history: { mode: "append", events: someEvents(2) },
          instance: { output: '"old"', customStatus: '"cs"' },
          activities: [activityTask("dup", "dup-e1", 0)],
          messages: [eventMessage("dup", "late")],
        });
        assert.equal((await h.store.getHistory(HUB, "dup")).length, 3);
        // Same execution ID on purpose: stale history would show through if it were kept.
        const again = newInstance("dup", { executionId: "dup-e1", createdAt: Date.now() + 1 });
        await h.store.createInstance(HUB, again);
        assert.deepStrictEqual(await h.store.getInstance(HUB, "dup"), {
          instanceId: "dup",
          name: ORCH,
          executionId: "dup-e1",
          runtimeStatus: "Pending",
          createdAt: again.createdAt,
          lastUpdatedAt: again.createdAt,
        });
        assert.deepStrictEqual(await h.store.getHistory(HUB, "dup"), []);
        assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
        const item = await leaseOrchestration(h.store);
        assert.deepStrictEqual(
          item.messages.map((m) => m.event),
          [again.started],
        );
        assert.deepStrictEqual(item.history, []);
      });
    }
  });

  describe("appendMessage", () => {
    test("an unknown instance throws InstanceNotFoundError", async () => {
      await rejectsWithCode(h.store.appendMessage(HUB, eventMessage("ghost", "e")), "INSTANCE_NOT_FOUND");
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
    });

    for (const status of TERMINAL_STATUSES) {
      test(`onlyIfActive on a ${status} instance throws InstanceNotRunningError and adds nothing`, async () => {
        await instanceWithStatus(h.store, "t", status);
        await rejectsWithCode(
          h.store.appendMessage(HUB, eventMessage("t", "e"), { onlyIfActive: true }),
          "INSTANCE_NOT_RUNNING",
        );
        assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
        // Without onlyIfActive the message is accepted.
        await h.store.appendMessage(HUB, eventMessage("t", "e2"));
        const item = await leaseOrchestration(h.store);
        assert.deepStrictEqual(
          item.messages.map((m) => (m.event.kind === "EventRaised" ? m.event.name : m.event.kind)),
          ["e2"],
        );
      });
    }

    for (const status of ACTIVE_STATUSES) {
      test(`onlyIfActive on a ${status} instance is accepted`, async () => {
        await instanceWithStatus(h.store, "a", status);
        await h.store.appendMessage(HUB, eventMessage("a", "e"), { onlyIfActive: true });
        const item = await leaseOrchestration(h.store);
        assert.ok(item.messages.some((m) => m.event.kind === "EventRaised"));
      });
    }

    test("a transition switches the status and adds the message in one step, notifying the change", async () => {
      const seen: string[] = [];
      const unsubscribe = h.store.subscribe(HUB, (n) => {
        if (n.kind === "instance-updated") seen.push(`${n.instanceId}:${n.runtimeStatus}`);
      });
      await instanceWithStatus(h.store, "f", "Failed");
      // A step commit may be announced after it returns (once durable): wait for it.
      await eventually("the Failed status to be announced", () => seen.includes("f:Failed"));
      seen.length = 0;
      await h.store.appendMessage(HUB, eventMessage("f", "rewind"), {
        transition: { from: "Failed", to: "Pending" },
      });
      unsubscribe();
      assert.equal((await h.store.getInstance(HUB, "f"))?.runtimeStatus, "Pending");
      assert.deepStrictEqual(seen, ["f:Pending"]);
      const item = await leaseOrchestration(h.store);
      assert.equal(item.messages.length, 1);
    });

    for (const status of ["Running", "Completed"] as const) {
      test(`a transition from Failed on a ${status} instance throws InvalidStateError and changes nothing`, async () => {
        await instanceWithStatus(h.store, "x", status);
        await rejectsWithCode(
          h.store.appendMessage(HUB, eventMessage("x", "rewind"), {
            transition: { from: "Failed", to: "Pending" },
          }),
          "INVALID_STATE",
        );
        assert.equal((await h.store.getInstance(HUB, "x"))?.runtimeStatus, status);
        assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
      });
    }

    test("calls made at once each settle on their own; one instance's messages keep their order", async () => {
      await instanceWithStatus(h.store, "live", "Running");
      await instanceWithStatus(h.store, "done", "Completed");
      await instanceWithStatus(h.store, "failed", "Failed");
      const settled = await Promise.allSettled([
        h.store.appendMessage(HUB, eventMessage("live", "e1")),
        h.store.appendMessage(HUB, eventMessage("ghost", "e")),
        h.store.appendMessage(HUB, eventMessage("done", "e"), { onlyIfActive: true }),
        h.store.appendMessage(HUB, eventMessage("live", "refused"), {
          transition: { from: "Failed", to: "Pending" },
        }),
        h.store.appendMessage(HUB, eventMessage("failed", "rewind"), {
          transition: { from: "Failed", to: "Pending" },
        }),
        h.store.appendMessage(HUB, eventMessage("live", "e2")),
        h.store.appendMessage(HUB, eventMessage("done", "accepted")),
      ]);
      const codes = settled.map((r) =>
        r.status === "fulfilled" ? "ok" : ((r.reason as { code?: string }).code ?? String(r.reason)),
      );
      assert.deepStrictEqual(codes, [
        "ok",
        "INSTANCE_NOT_FOUND",
        "INSTANCE_NOT_RUNNING",
        "INVALID_STATE",
        "ok",
        "ok",
        "ok",
      ]);
      assert.equal((await h.store.getInstance(HUB, "live"))?.runtimeStatus, "Running");
      assert.equal((await h.store.getInstance(HUB, "failed"))?.runtimeStatus, "Pending");
      assert.equal(await h.store.getInstance(HUB, "ghost"), undefined);
      const names = new Map<string, string[]>();
      for (let item = await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE); item; ) {
        names.set(
          item.instance.instanceId,
          item.messages.flatMap((m) => (m.event.kind === "EventRaised" ? [m.event.name] : [])),
        );
        item = await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE);
      }
      assert.deepStrictEqual(Object.fromEntries([...names].sort()), {
        done: ["accepted"],
        failed: ["rewind"],
        live: ["e1", "e2"],
      });
    });

    test("executionId is carried when set and absent when not", async () => {
      await instanceWithStatus(h.store, "a", "Running");
      await h.store.appendMessage(HUB, eventMessage("a", "targeted", Date.now(), "a-e1"));
      await h.store.appendMessage(HUB, eventMessage("a", "untargeted"));
      const item = await leaseOrchestration(h.store);
      assert.equal(item.messages.length, 2);
      assert.equal(item.messages[0]?.executionId, "a-e1");
      assert.ok(!("executionId" in (item.messages[1] ?? {})), "no executionId key when none was given");
    });
  });

  describe("visibility and wake-ups", () => {
    test("a delayed start is not leased before visibleAt, and nextWakeUp reports it", async () => {
      const visibleAt = Date.now() + 300;
      await h.store.createInstance(HUB, newInstance("later", { visibleAt }));
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), visibleAt);
      assert.equal(await h.store.getInstance(HUB, "later").then((r) => r?.runtimeStatus), "Pending");
      await sleep(Math.max(0, visibleAt - Date.now()) + 20);
      const item = await leaseOrchestration(h.store);
      assert.equal(item.instance.instanceId, "later");
    });

    test("nextWakeUp leaves out messages held by a lease until the lease has expired", async () => {
      await h.store.createInstance(HUB, newInstance("held"));
      const item = await leaseOrchestration(h.store);
      assert.equal(item.instance.instanceId, "held");
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), undefined, "its start message is held");
      const expiresAt = item.lease.expiresAt;
      await h.store.createInstance(HUB, newInstance("later", { visibleAt: expiresAt + 10_000 }));
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), expiresAt + 10_000);
      await h.store.appendMessage(HUB, eventMessage("held", "during", expiresAt - 1000));
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), expiresAt + 10_000, "visible while still held");
      await h.store.appendMessage(HUB, eventMessage("held", "after", expiresAt + 5));
      assert.equal(
        await h.store.nextWakeUp(HUB, [ORCH], []),
        expiresAt + 5,
        "visible once the lease is over",
      );
      await h.store.abandonOrchestration(item.lease);
      assert.ok(((await h.store.nextWakeUp(HUB, [ORCH], [])) ?? Infinity) <= Date.now(), "released: due now");
    });

    test("nextWakeUp is undefined when nothing is queued", async () => {
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], [ACT]), undefined);
    });

    test("nextWakeUp only counts the given orchestrator names", async () => {
      await h.store.createInstance(HUB, newInstance("x", { name: "Other", visibleAt: 1000 }));
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], [ACT]), undefined);
      assert.equal(await h.store.nextWakeUp(HUB, ["Other"], []), 1000);
    });

    test("nextWakeUp is the minimum over messages and activity tasks not held by a lease", async () => {
      await instanceWithStatus(h.store, "a", "Running", { activities: [activityTask("a", "a-e1", 0)] });
      const before = Date.now();
      await h.store.appendMessage(HUB, eventMessage("a", "far", before + 100_000));
      const taskTime = await h.store.nextWakeUp(HUB, [], [ACT]);
      assert.ok(taskTime !== undefined && taskTime <= before, "the activity task is visible now");
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), before + 100_000);
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], [ACT]), taskTime);
      await h.store.appendMessage(HUB, eventMessage("a", "near", 5));
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], [ACT]), 5);
      // Leased, "a" holds its messages but the one that becomes visible after its lease.
      await leaseOrchestration(h.store);
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), before + 100_000);
    });

    test("queueStats counts due messages and tasks, leased or not, with the oldest of each", async () => {
      assert.deepStrictEqual(await h.store.queueStats(HUB, Date.now()), { messages: 0, activities: 0 });
      await h.store.createInstance(HUB, newInstance("b", { visibleAt: 2000 }));
      await h.store.createInstance(HUB, newInstance("c", { visibleAt: 3000 }));
      await h.store.createInstance(HUB, newInstance("future", { visibleAt: Date.now() + 100_000 }));
      await h.store.createInstance(OTHER_HUB, newInstance("elsewhere", { visibleAt: 1000 }));
      const now = Date.now();
      assert.deepStrictEqual(await h.store.queueStats(HUB, now), {
        messages: 2,
        oldestMessageAt: 2000,
        activities: 0,
      });
      // The first is leased (still due), then consumed by a commit that schedules an activity.
      const item = await leaseOrchestration(h.store);
      assert.equal((await h.store.queueStats(HUB, Date.now())).messages, 2);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, { activities: [activityTask("b", "b-e1", 0)] }),
      );
      const after = await h.store.queueStats(HUB, Date.now());
      assert.equal(after.messages, 1);
      assert.equal(after.oldestMessageAt, 3000);
      assert.equal(after.activities, 1);
      assert.ok(after.oldestActivityAt !== undefined && after.oldestActivityAt >= now);
      assert.equal((await h.store.queueStats(HUB, Date.now() + 200_000)).messages, 2);
    });
  });
}
