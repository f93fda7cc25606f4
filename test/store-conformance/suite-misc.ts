/**
 * Conformance: hub isolation, notifications, closing, and copy isolation of values passed in and
 * returned.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { OrchestrationWorkItem, StoreNotification } from "../../src/store/store.js";
import { eventually } from "../hub/fixtures.js";
import {
  ACT,
  activityTask,
  checkpointFor,
  eventMessage,
  HUB,
  LONG_LEASE,
  leaseActivity,
  leaseOrchestration,
  newInstance,
  ORCH,
  OTHER_HUB,
  rejectsWithCode,
  type StoreHarness,
  someEvents,
  taskCompleted,
  WORKER,
} from "./fixtures.js";

const describeNote = (n: StoreNotification): string => {
  switch (n.kind) {
    case "activity-work":
    case "external-change":
      return n.kind;
    case "orchestration-work":
      return `${n.kind}:${n.instanceId}`;
    case "instance-updated":
      return `${n.kind}:${n.instanceId}:${n.runtimeStatus}`;
    default:
      return n satisfies never;
  }
};

/** Declares hub isolation, notification, close and copy tests. */
export function miscTests(h: StoreHarness): void {
  describe("hub isolation", () => {
    test("the same instance ID in two hubs is two independent instances", async () => {
      await h.store.createInstance(HUB, newInstance("same", { input: '"A"' }));
      await h.store.createInstance(OTHER_HUB, newInstance("same", { input: '"B"' }));
      assert.equal((await h.store.getInstance(HUB, "same"))?.input, '"A"');
      assert.equal((await h.store.getInstance(OTHER_HUB, "same"))?.input, '"B"');
      const a = await leaseOrchestration(h.store, HUB);
      assert.equal(a.instance.input, '"A"');
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
      await h.store.commitOrchestration(
        a.lease,
        checkpointFor(a, {
          history: { mode: "append", events: someEvents(1) },
          instance: { runtimeStatus: "Completed", completedAt: Date.now() },
          activities: [activityTask("same", "same-e1", 0)],
        }),
      );
      assert.equal(await h.store.leaseNextActivity(OTHER_HUB, WORKER, [ACT], LONG_LEASE), undefined);
      assert.equal(await h.store.nextWakeUp(OTHER_HUB, [], [ACT]), undefined);
      assert.equal((await h.store.getInstance(OTHER_HUB, "same"))?.runtimeStatus, "Pending");
      assert.deepStrictEqual(await h.store.getHistory(OTHER_HUB, "same"), []);
      const b = await leaseOrchestration(h.store, OTHER_HUB);
      assert.equal(b.instance.input, '"B"');
      assert.deepStrictEqual(b.history, []);
      await h.store.commitOrchestration(b.lease, checkpointFor(b));
      // Purging hub A leaves hub B alone.
      assert.equal(await h.store.purgeInstances(HUB, { filter: {} }), 1);
      assert.equal((await h.store.getInstance(OTHER_HUB, "same"))?.runtimeStatus, "Running");
      assert.equal((await h.store.listInstances(HUB, {})).instances.length, 0);
      assert.equal((await h.store.listInstances(OTHER_HUB, {})).instances.length, 1);
    });

    test("an instance in one hub does not exist in another", async () => {
      await h.store.createInstance(HUB, newInstance("only-a"));
      await rejectsWithCode(
        h.store.appendMessage(OTHER_HUB, eventMessage("only-a", "e")),
        "INSTANCE_NOT_FOUND",
      );
      assert.equal(await h.store.getInstance(OTHER_HUB, "only-a"), undefined);
      assert.equal(await h.store.nextWakeUp(OTHER_HUB, [ORCH], [ACT]), undefined);
      assert.equal(await h.store.purgeInstances(OTHER_HUB, { filter: {} }), 0);
    });
  });

  describe("subscribe", () => {
    test("every kind of notification fires after the change, only for its hub", async () => {
      const seen: string[] = [];
      const other: string[] = [];
      const statusesSeenInListener: Promise<string | undefined>[] = [];
      h.store.subscribe(OTHER_HUB, (n) => other.push(describeNote(n)));
      const unsubscribe = h.store.subscribe(HUB, (n) => {
        seen.push(describeNote(n));
        if (n.kind === "instance-updated") {
          statusesSeenInListener.push(h.store.getInstance(HUB, n.instanceId).then((r) => r?.runtimeStatus));
        }
      });
      const take = (): string[] => seen.splice(0).sort();
      // A step commit or activity completion may be announced after its call returns (once it is
      // durable, see Store): wait for as many notifications as expected, then compare.
      const expectNotes = async (expected: string[]): Promise<void> => {
        await eventually(`${expected.length} notifications`, () => seen.length >= expected.length);
        assert.deepStrictEqual(take(), expected);
      };

      await h.store.createInstance(HUB, newInstance("a"));
      assert.deepStrictEqual(take(), ["instance-updated:a:Pending", "orchestration-work:a"]);
      await h.store.createInstance(HUB, newInstance("b"));
      take();
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      assert.deepStrictEqual(take(), ["orchestration-work:a"]);

      const item = await leaseOrchestration(h.store);
      assert.deepStrictEqual(take(), []);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          activities: [activityTask("a", "a-e1", 0)],
          messages: [eventMessage("b", "to-b")],
        }),
      );
      await expectNotes(["activity-work", "instance-updated:a:Running", "orchestration-work:b"]);

      const task = await leaseActivity(h.store);
      await h.store.abandonActivity(task.lease);
      assert.deepStrictEqual(take(), ["activity-work"]);
      const task2 = await leaseActivity(h.store);
      await h.store.completeActivity(task2.lease, taskCompleted(0));
      await expectNotes(["orchestration-work:a"]);

      const b = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE);
      await h.store.abandonOrchestration(b.lease);
      assert.deepStrictEqual(take(), [`orchestration-work:${b.instance.instanceId}`]);

      assert.deepStrictEqual(other, []);
      assert.deepStrictEqual(await Promise.all(statusesSeenInListener), ["Pending", "Pending", "Running"]);
      unsubscribe();
      await h.store.appendMessage(HUB, eventMessage("a", "after"));
      assert.deepStrictEqual(seen, []);
    });

    test("work visible only later is announced with its visibleAt", async () => {
      const seen: StoreNotification[] = [];
      h.store.subscribe(HUB, (n) => seen.push(n));
      const work = (): string[] =>
        seen
          .splice(0)
          .flatMap((n) =>
            n.kind === "orchestration-work" ? [`${n.instanceId}@${n.visibleAt ?? "now"}`] : [],
          )
          .sort();
      const later = Date.now() + 60_000;
      await h.store.createInstance(HUB, newInstance("scheduled", { visibleAt: later }));
      assert.deepStrictEqual(work(), [`scheduled@${later}`]);
      await h.store.appendMessage(HUB, eventMessage("scheduled", "soon", later + 1));
      assert.deepStrictEqual(work(), [`scheduled@${later + 1}`]);
      await h.store.createInstance(HUB, newInstance("t1"));
      assert.deepStrictEqual(work(), ["t1@now"]);
      await h.store.appendMessage(HUB, eventMessage("t1", "now"));
      assert.deepStrictEqual(work(), ["t1@now"]);

      // Steps committed one by one and in a batch, each setting a timer (a message to itself, which
      // also leaves its instance with a message after the step), one also messaging "scheduled".
      const ids = ["t1", "t2", "t3", "t4", "t5"];
      for (const id of ids.slice(1)) await h.store.createInstance(HUB, newInstance(id));
      work();
      const single = await leaseOrchestration(h.store);
      const batch = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 10 });
      assert.deepStrictEqual([single, ...batch].map((item) => item.instance.instanceId).sort(), ids);
      const timerFor = (item: OrchestrationWorkItem) =>
        eventMessage(item.instance.instanceId, "timer", later + 2);
      await h.store.commitOrchestration(
        single.lease,
        checkpointFor(single, { messages: [timerFor(single), eventMessage("scheduled", "x")] }),
      );
      await h.store.commitOrchestrations(
        HUB,
        batch.map((item) => ({
          lease: item.lease,
          checkpoint: checkpointFor(item, { messages: [timerFor(item)] }),
        })),
      );
      const expected = [...ids.map((id) => `${id}@${later + 2}`), "scheduled@now"].sort();
      await eventually("every step's notification", () => seen.length >= expected.length);
      assert.deepStrictEqual(work(), expected);
    });

    test("a failed call notifies nothing", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const seen: StoreNotification[] = [];
      h.store.subscribe(HUB, (n) => seen.push(n));
      await rejectsWithCode(h.store.createInstance(HUB, newInstance("a")), "INSTANCE_ALREADY_EXISTS");
      await rejectsWithCode(h.store.appendMessage(HUB, eventMessage("nope", "e")), "INSTANCE_NOT_FOUND");
      assert.deepStrictEqual(seen, []);
    });

    test("a throwing listener does not break the call or other listeners", async () => {
      const seen: string[] = [];
      h.store.subscribe(HUB, () => {
        throw new Error("bad listener");
      });
      h.store.subscribe(HUB, (n) => seen.push(n.kind));
      await h.store.createInstance(HUB, newInstance("a"));
      assert.ok(seen.includes("orchestration-work"));
      assert.ok(await h.store.getInstance(HUB, "a"));
    });
  });

  describe("open and close", () => {
    test("open is idempotent", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      await h.store.open();
      await h.store.open();
      assert.ok(await h.store.getInstance(HUB, "a"));
    });

    test("every call after close throws STORE_CLOSED; closing twice is fine", async () => {
      await h.store.createInstance(HUB, newInstance("a", { visibleAt: 1 }));
      await h.store.createInstance(HUB, newInstance("b"));
      const item = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, { activities: [activityTask("a", "a-e1", 0)] }),
      );
      const orch = await leaseOrchestration(h.store);
      const act = await leaseActivity(h.store);
      await h.store.close();
      await h.store.close();
      const calls: [string, () => Promise<unknown>][] = [
        ["open", () => h.store.open()],
        ["createInstance", () => h.store.createInstance(HUB, newInstance("c"))],
        ["appendMessage", () => h.store.appendMessage(HUB, eventMessage("a", "e"))],
        ["getInstance", () => h.store.getInstance(HUB, "a")],
        ["getHistory", () => h.store.getHistory(HUB, "a")],
        ["listInstances", () => h.store.listInstances(HUB, {})],
        ["purgeInstances", () => h.store.purgeInstances(HUB, { instanceIds: ["a"] })],
        ["leaseNextOrchestration", () => h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE)],
        ["commitOrchestration", () => h.store.commitOrchestration(orch.lease, checkpointFor(orch))],
        ["renewOrchestrationLease", () => h.store.renewOrchestrationLease(orch.lease, 1000)],
        ["abandonOrchestration", () => h.store.abandonOrchestration(orch.lease)],
        ["leaseNextActivity", () => h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE)],
        ["completeActivity", () => h.store.completeActivity(act.lease, taskCompleted(0))],
        ["renewActivityLease", () => h.store.renewActivityLease(act.lease, 1000)],
        ["abandonActivity", () => h.store.abandonActivity(act.lease)],
        ["nextWakeUp", () => h.store.nextWakeUp(HUB, [ORCH], [ACT])],
      ];
      for (const [name, call] of calls) {
        await assert.rejects(call(), (err: unknown) => {
          assert.equal((err as { code?: unknown }).code, "STORE_CLOSED", `${name} after close`);
          return true;
        });
      }
    });
  });

  describe("copy isolation", () => {
    test("values passed in are copied", async () => {
      const parent = { instanceId: "p", executionId: "p-e1", name: ORCH, taskScheduledId: 1 };
      const created = newInstance("a", { parent });
      const startedCopy = structuredClone(created.started);
      await h.store.createInstance(HUB, created);
      parent.name = "mutated";
      created.started.name = "mutated";
      assert.equal((await h.store.getInstance(HUB, "a"))?.parent?.name, ORCH);
      const item = await leaseOrchestration(h.store);
      assert.deepStrictEqual(item.messages[0]?.event, startedCopy);
      const events = someEvents(1);
      const failure = { name: "Error", message: "original" };
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, { history: { mode: "append", events }, instance: { failure } }),
      );
      events[0]!.timestamp = "mutated";
      failure.message = "mutated";
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), someEvents(1));
      assert.equal((await h.store.getInstance(HUB, "a"))?.failure?.message, "original");
    });

    test("values returned are copies", async () => {
      const parent = { instanceId: "p", executionId: "p-e1", name: ORCH, taskScheduledId: 1 };
      await h.store.createInstance(HUB, newInstance("a", { parent }));
      const item = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          history: { mode: "append", events: someEvents(1) },
          instance: { failure: { name: "Error", message: "original" } },
        }),
      );
      const row = await h.store.getInstance(HUB, "a");
      assert.ok(row?.parent && row.failure);
      row.parent.name = "mutated";
      row.failure.message = "mutated";
      row.runtimeStatus = "Completed";
      const history = await h.store.getHistory(HUB, "a");
      history[0]!.timestamp = "mutated";
      history.pop();
      const again = await h.store.getInstance(HUB, "a");
      assert.equal(again?.parent?.name, ORCH);
      assert.equal(again?.failure?.message, "original");
      assert.equal(again?.runtimeStatus, "Running");
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), someEvents(1));
      const page = await h.store.listInstances(HUB, {});
      page.instances[0]!.name = "mutated";
      assert.equal((await h.store.getInstance(HUB, "a"))?.name, ORCH);
    });
  });
}
