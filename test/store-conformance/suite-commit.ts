/**
 * Conformance: committing an orchestration step — history modes, the row update, consumed and
 * late messages, outbound work, children, and atomicity when the commit is refused.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { InstanceRecord } from "../../src/store/store.js";
import {
  ACT,
  activityTask,
  checkpointFor,
  childInstance,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseActivity,
  leaseOrchestration,
  newInstance,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  someEvents,
  startedEvent,
  WORKER,
} from "./fixtures.js";

/** Declares the commit tests. */
export function commitTests(h: StoreHarness): void {
  describe("commitOrchestration", () => {
    test("append mode adds events after the stored history", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const first = await leaseOrchestration(h.store);
      const step1 = someEvents(2);
      await h.store.commitOrchestration(
        first.lease,
        checkpointFor(first, { history: { mode: "append", events: step1 } }),
      );
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      const second = await leaseOrchestration(h.store);
      assert.deepStrictEqual(second.history, step1);
      const step2 = someEvents(1, 5);
      await h.store.commitOrchestration(
        second.lease,
        checkpointFor(second, { history: { mode: "append", events: step2 } }),
      );
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), [...step1, ...step2]);
    });

    test("replace mode starts a new execution: old history gone, input replaced", async () => {
      await h.store.createInstance(HUB, newInstance("a", { input: '"v1"' }));
      const first = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        first.lease,
        checkpointFor(first, { history: { mode: "append", events: someEvents(3) } }),
      );
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      const second = await leaseOrchestration(h.store);
      const fresh = [startedEvent("a", "a-e2", { input: '"v2"' })];
      await h.store.commitOrchestration(
        second.lease,
        checkpointFor(second, {
          history: { mode: "replace", events: fresh },
          instance: { executionId: "a-e2", runtimeStatus: "ContinuedAsNew", input: '"v2"' },
        }),
      );
      const row = await h.store.getInstance(HUB, "a");
      assert.equal(row?.executionId, "a-e2");
      assert.equal(row?.input, '"v2"');
      assert.equal(row?.runtimeStatus, "ContinuedAsNew");
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), fresh);
      // Appending to the new execution continues after the replaced history.
      await h.store.appendMessage(HUB, eventMessage("a", "e2"));
      const third = await leaseOrchestration(h.store);
      assert.deepStrictEqual(third.history, fresh);
      await h.store.commitOrchestration(
        third.lease,
        checkpointFor(third, { history: { mode: "append", events: someEvents(0) } }),
      );
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), [...fresh, ...someEvents(0)]);
    });

    test("replace mode within the same execution rewrites its history (rewind)", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const first = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        first.lease,
        checkpointFor(first, { history: { mode: "append", events: someEvents(4) } }),
      );
      await h.store.appendMessage(HUB, eventMessage("a", "rewind"));
      const second = await leaseOrchestration(h.store);
      const rewritten = someEvents(1);
      await h.store.commitOrchestration(
        second.lease,
        checkpointFor(second, { history: { mode: "replace", events: rewritten } }),
      );
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), rewritten);
    });

    test("the row takes the update's fields; absent optional fields are cleared, input is kept", async () => {
      await h.store.createInstance(HUB, newInstance("a", { input: '"in"', createdAt: 1000 }));
      const first = await leaseOrchestration(h.store);
      const failure = { name: "Error", message: "boom", code: "E1", properties: { n: 1 } };
      await h.store.commitOrchestration(
        first.lease,
        checkpointFor(first, {
          instance: {
            runtimeStatus: "Failed",
            output: '"out"',
            customStatus: '"cs"',
            failure,
            lastUpdatedAt: 2000,
            completedAt: 2000,
          },
        }),
      );
      const expected: InstanceRecord = {
        instanceId: "a",
        name: ORCH,
        executionId: "a-e1",
        runtimeStatus: "Failed",
        input: '"in"',
        output: '"out"',
        customStatus: '"cs"',
        failure,
        createdAt: 1000,
        lastUpdatedAt: 2000,
        completedAt: 2000,
      };
      assert.deepStrictEqual(await h.store.getInstance(HUB, "a"), expected);
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      const second = await leaseOrchestration(h.store);
      assert.deepStrictEqual(second.instance, expected);
      await h.store.commitOrchestration(
        second.lease,
        checkpointFor(second, { instance: { runtimeStatus: "Running", lastUpdatedAt: 3000 } }),
      );
      assert.deepStrictEqual(await h.store.getInstance(HUB, "a"), {
        instanceId: "a",
        name: ORCH,
        executionId: "a-e1",
        runtimeStatus: "Running",
        input: '"in"',
        createdAt: 1000,
        lastUpdatedAt: 3000,
      });
    });

    test("consumed messages are deleted; messages that arrived after the lease stay", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store);
      await h.store.appendMessage(HUB, eventMessage("a", "late"));
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          consumedMessageIds: [...item.messages.map((m) => m.id), "999999999", "not-an-id"],
        }),
      );
      const next = await leaseOrchestration(h.store);
      assert.deepStrictEqual(
        next.messages.map((m) => (m.event.kind === "EventRaised" ? m.event.name : m.event.kind)),
        ["late"],
      );
    });

    test("activity tasks and messages to other instances are queued", async () => {
      await instanceWithStatus(h.store, "other", "Running");
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          activities: [activityTask("a", "a-e1", 1), activityTask("a", "a-e1", 2)],
          messages: [eventMessage("other", "hello", Date.now(), "other-e1")],
        }),
      );
      const t1 = await leaseActivity(h.store);
      const t2 = await leaseActivity(h.store);
      assert.deepStrictEqual([t1.task.taskId, t2.task.taskId], [1, 2]);
      const { id, deliveryCount, ...rest } = t1.task;
      assert.equal(typeof id, "string");
      assert.equal(deliveryCount, 1);
      assert.deepStrictEqual(rest, activityTask("a", "a-e1", 1));
      const other = await leaseOrchestration(h.store);
      assert.equal(other.instance.instanceId, "other");
      assert.deepStrictEqual(
        other.messages.map((m) => [m.executionId, m.event]),
        [["other-e1", eventMessage("other", "hello").event]],
      );
    });

    test("children are created as Pending instances with their start message", async () => {
      await h.store.createInstance(HUB, newInstance("parent"));
      const item = await leaseOrchestration(h.store);
      const child = childInstance("parent", "parent-e1", "child");
      await h.store.commitOrchestration(item.lease, checkpointFor(item, { children: [child] }));
      assert.deepStrictEqual(await h.store.getInstance(HUB, "child"), {
        instanceId: "child",
        name: ORCH,
        executionId: "child-e1",
        runtimeStatus: "Pending",
        input: child.input,
        parent: child.parent,
        createdAt: child.createdAt,
        lastUpdatedAt: child.createdAt,
      });
      const childItem = await leaseOrchestration(h.store);
      assert.equal(childItem.instance.instanceId, "child");
      assert.deepStrictEqual(
        childItem.messages.map((m) => m.event),
        [child.started],
      );
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
    });

    test("a child whose ID is active is not created; the parent gets the conflict reply", async () => {
      await instanceWithStatus(h.store, "child", "Running", {
        history: { mode: "append", events: someEvents(1) },
      });
      const childBefore = await h.store.getInstance(HUB, "child");
      await h.store.createInstance(HUB, newInstance("parent"));
      const item = await leaseOrchestration(h.store);
      const child = childInstance("parent", "parent-e1", "child", 7);
      await h.store.commitOrchestration(item.lease, checkpointFor(item, { children: [child] }));
      assert.deepStrictEqual(await h.store.getInstance(HUB, "child"), childBefore);
      assert.deepStrictEqual(await h.store.getHistory(HUB, "child"), someEvents(1));
      const reply = await leaseOrchestration(h.store);
      assert.equal(reply.instance.instanceId, "parent");
      assert.deepStrictEqual(
        reply.messages.map((m) => [m.executionId, m.event]),
        [["parent-e1", child.conflictReply!.event]],
      );
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
    });

    test("one checkpoint starting the same child ID twice creates it once; the second gets the conflict reply", async () => {
      await h.store.createInstance(HUB, newInstance("parent"));
      const item = await leaseOrchestration(h.store);
      const first = childInstance("parent", "parent-e1", "twin", 1);
      const second = { ...childInstance("parent", "parent-e1", "twin", 2), executionId: "twin-e2" };
      await h.store.commitOrchestration(item.lease, checkpointFor(item, { children: [first, second] }));
      assert.equal((await h.store.getInstance(HUB, "twin"))?.executionId, first.executionId);
      const items = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 10 });
      const byId = new Map(items.map((i) => [i.instance.instanceId, i.messages.map((m) => m.event)]));
      assert.deepStrictEqual(byId.get("twin"), [first.started]);
      assert.deepStrictEqual(byId.get("parent"), [second.conflictReply!.event]);
    });

    test("a child whose ID is terminal replaces the old instance", async () => {
      await instanceWithStatus(h.store, "child", "Completed", {
        history: { mode: "append", events: someEvents(2) },
        instance: { output: '"old"' },
        activities: [activityTask("child", "child-e1", 0)],
      });
      await h.store.createInstance(HUB, newInstance("parent"));
      const item = await leaseOrchestration(h.store);
      const child = childInstance("parent", "parent-e1", "child");
      await h.store.commitOrchestration(item.lease, checkpointFor(item, { children: [child] }));
      const row = await h.store.getInstance(HUB, "child");
      assert.equal(row?.runtimeStatus, "Pending");
      assert.equal(row?.output, undefined);
      assert.deepStrictEqual(await h.store.getHistory(HUB, "child"), []);
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
    });

    test("a refused commit changes nothing at all", async () => {
      await instanceWithStatus(h.store, "other", "Running");
      await instanceWithStatus(h.store, "a", "Running", {
        history: { mode: "append", events: someEvents(1) },
      });
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      const stale = await leaseOrchestration(h.store, HUB, "w1", 30);
      await sleep(60);
      const fresh = await leaseOrchestration(h.store, HUB, "w2");
      const rowBefore = await h.store.getInstance(HUB, "a");
      for (const mode of ["append", "replace"] as const) {
        await rejectsWithCode(
          h.store.commitOrchestration(
            stale.lease,
            checkpointFor(stale, {
              history: { mode, events: someEvents(3, 20) },
              instance: {
                executionId: mode === "replace" ? "a-e9" : "a-e1",
                runtimeStatus: "Completed",
                output: "1",
              },
              activities: [activityTask("a", "a-e1", 20)],
              messages: [eventMessage("other", "x")],
              children: [childInstance("a", "a-e1", "kid")],
            }),
          ),
          "LEASE_LOST",
        );
      }
      assert.deepStrictEqual(await h.store.getInstance(HUB, "a"), rowBefore);
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), someEvents(1));
      assert.equal(await h.store.getInstance(HUB, "kid"), undefined);
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
      assert.equal(
        await h.store.leaseNextOrchestration(HUB, "w3", [ORCH], LONG_LEASE),
        undefined,
        "no message to other",
      );
      // The messages the stale worker tried to consume are still there for the new holder.
      await h.store.commitOrchestration(fresh.lease, checkpointFor(fresh, { consumedMessageIds: [] }));
      const again = await leaseOrchestration(h.store);
      assert.deepStrictEqual(again.messages, stale.messages);
    });
  });
}
