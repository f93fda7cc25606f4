/**
 * Conformance: leasing orchestration work — choice, exclusivity, expiry and fencing, renewal and
 * abandonment.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkpointFor,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  someEvents,
  WORKER,
} from "./fixtures.js";

/** Declares the orchestration lease tests. */
export function orchestrationLeaseTests(h: StoreHarness): void {
  describe("leaseNextOrchestration", () => {
    test("returns undefined when there is no work", async () => {
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
    });

    test("the lease names the hub, instance and worker and has a fresh token", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const before = Date.now();
      const item = await leaseOrchestration(h.store, HUB, "w-x", 10_000);
      assert.equal(item.lease.hub, HUB);
      assert.equal(item.lease.instanceId, "a");
      assert.equal(item.lease.workerId, "w-x");
      assert.equal(typeof item.lease.token, "string");
      assert.ok(item.lease.token.length >= 16);
      assert.ok(item.lease.expiresAt >= before + 10_000 && item.lease.expiresAt <= Date.now() + 10_000);
      await h.store.abandonOrchestration(item.lease);
      const again = await leaseOrchestration(h.store);
      assert.notEqual(again.lease.token, item.lease.token);
    });

    test("a leased instance is not leased again; another worker gets the next one", async () => {
      const now = Date.now();
      await h.store.createInstance(HUB, newInstance("a", { visibleAt: now - 20 }));
      await h.store.createInstance(HUB, newInstance("b", { visibleAt: now - 10 }));
      const first = await leaseOrchestration(h.store, HUB, "w1");
      const second = await leaseOrchestration(h.store, HUB, "w2");
      assert.deepStrictEqual([first.instance.instanceId, second.instance.instanceId], ["a", "b"]);
      assert.equal(await h.store.leaseNextOrchestration(HUB, "w3", [ORCH], LONG_LEASE), undefined);
      // New messages for a leased instance do not make it leasable.
      await h.store.appendMessage(HUB, eventMessage("a", "more"));
      assert.equal(await h.store.leaseNextOrchestration(HUB, "w3", [ORCH], LONG_LEASE), undefined);
    });

    test("picks the instance whose oldest visible message is oldest", async () => {
      const now = Date.now();
      await h.store.createInstance(HUB, newInstance("young", { visibleAt: now - 100 }));
      await h.store.createInstance(HUB, newInstance("old", { visibleAt: now - 300 }));
      await h.store.createInstance(HUB, newInstance("middle", { visibleAt: now - 200 }));
      const order: string[] = [];
      for (let i = 0; i < 3; i++)
        order.push((await leaseOrchestration(h.store, HUB, `w${i}`)).instance.instanceId);
      assert.deepStrictEqual(order, ["old", "middle", "young"]);
    });

    test("only instances whose name is in `names` are leased", async () => {
      await h.store.createInstance(HUB, newInstance("x", { name: "Other" }));
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [], LONG_LEASE), undefined);
      const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ORCH, "Other"]);
      assert.equal(item.instance.name, "Other");
    });

    test("returns every visible message, by visibleAt then arrival, and none from the future", async () => {
      await instanceWithStatus(h.store, "a", "Running", {
        history: { mode: "append", events: someEvents(1) },
      });
      const now = Date.now();
      await h.store.appendMessage(HUB, eventMessage("a", "second", now - 50));
      await h.store.appendMessage(HUB, eventMessage("a", "future", now + 60_000));
      await h.store.appendMessage(HUB, eventMessage("a", "first", now - 100));
      await h.store.appendMessage(HUB, eventMessage("a", "third-a", now - 10));
      await h.store.appendMessage(HUB, eventMessage("a", "third-b", now - 10));
      const item = await leaseOrchestration(h.store);
      assert.deepStrictEqual(
        item.messages.map((m) => (m.event.kind === "EventRaised" ? m.event.name : "?")),
        ["first", "second", "third-a", "third-b"],
      );
      assert.equal(new Set(item.messages.map((m) => m.id)).size, 4, "message IDs are unique");
      assert.deepStrictEqual(item.history, someEvents(1));
      assert.equal(item.instance.runtimeStatus, "Running");
    });

    test("messages for an instance without a row are dropped, never returned", async () => {
      await instanceWithStatus(h.store, "a", "Running", { messages: [eventMessage("ghost", "lost")] });
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE), undefined);
      // Creating the instance afterwards shows the dropped message is gone.
      await h.store.createInstance(HUB, newInstance("ghost"));
      const item = await leaseOrchestration(h.store);
      assert.equal(item.instance.instanceId, "ghost");
      assert.deepStrictEqual(
        item.messages.map((m) => m.event.kind),
        ["ExecutionStarted"],
      );
    });
  });

  describe("lease expiry and fencing", () => {
    test("an expired lease is taken over and the old holder's commit changes nothing", async () => {
      await instanceWithStatus(h.store, "a", "Running", {
        history: { mode: "append", events: someEvents(1) },
      });
      await h.store.appendMessage(HUB, eventMessage("a", "e"));
      const stale = await leaseOrchestration(h.store, HUB, "w1", 30);
      await sleep(60);
      const fresh = await leaseOrchestration(h.store, HUB, "w2");
      assert.equal(fresh.instance.instanceId, "a");
      assert.notEqual(fresh.lease.token, stale.lease.token);
      assert.deepStrictEqual(fresh.messages, stale.messages);
      const rowBefore = await h.store.getInstance(HUB, "a");
      const historyBefore = await h.store.getHistory(HUB, "a");
      await rejectsWithCode(
        h.store.commitOrchestration(
          stale.lease,
          checkpointFor(stale, {
            history: { mode: "append", events: someEvents(2, 10) },
            instance: { runtimeStatus: "Completed", output: '"stale"', completedAt: Date.now() },
            messages: [eventMessage("a", "from-stale")],
          }),
        ),
        "LEASE_LOST",
      );
      assert.deepStrictEqual(await h.store.getInstance(HUB, "a"), rowBefore);
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), historyBefore);
      // The new holder commits normally and its messages were not consumed by the stale commit.
      await h.store.commitOrchestration(fresh.lease, checkpointFor(fresh, { consumedMessageIds: [] }));
      const after = await leaseOrchestration(h.store);
      assert.deepStrictEqual(after.messages, fresh.messages);
    });

    test("a lease that expired but was not taken may still commit", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store, HUB, "w1", 30);
      await sleep(60);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, { history: { mode: "append", events: someEvents(0) } }),
      );
      assert.equal((await h.store.getInstance(HUB, "a"))?.runtimeStatus, "Running");
      assert.equal((await h.store.getHistory(HUB, "a")).length, 1);
    });

    test("committing twice with one lease fails the second time without duplicating history", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store);
      const checkpoint = checkpointFor(item, { history: { mode: "append", events: someEvents(1) } });
      await h.store.commitOrchestration(item.lease, checkpoint);
      await rejectsWithCode(h.store.commitOrchestration(item.lease, checkpoint), "LEASE_LOST");
      assert.deepStrictEqual(await h.store.getHistory(HUB, "a"), someEvents(1));
    });

    test("a lease token that was never issued is rejected", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store);
      const forged = { ...item.lease, token: "forged" };
      await rejectsWithCode(h.store.commitOrchestration(forged, checkpointFor(item)), "LEASE_LOST");
      await rejectsWithCode(h.store.renewOrchestrationLease(forged, 1000), "LEASE_LOST");
      await h.store.commitOrchestration(item.lease, checkpointFor(item));
    });
  });

  describe("renew and abandon", () => {
    test("renewing extends the lease so nobody else can take it", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store, HUB, "w1", 30);
      const before = Date.now();
      const renewed = await h.store.renewOrchestrationLease(item.lease, 5_000);
      assert.deepStrictEqual({ ...renewed, expiresAt: 0 }, { ...item.lease, expiresAt: 0 });
      assert.ok(renewed.expiresAt >= before + 5_000 && renewed.expiresAt <= Date.now() + 5_000);
      await sleep(60);
      assert.equal(await h.store.leaseNextOrchestration(HUB, "w2", [ORCH], LONG_LEASE), undefined);
      await h.store.commitOrchestration(renewed, checkpointFor(item));
    });

    test("renewing a lost lease throws LeaseLostError", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store, HUB, "w1", 30);
      await sleep(60);
      await leaseOrchestration(h.store, HUB, "w2");
      await rejectsWithCode(h.store.renewOrchestrationLease(item.lease, 1000), "LEASE_LOST");
    });

    test("renewing after the commit throws LeaseLostError", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(item.lease, checkpointFor(item));
      await rejectsWithCode(h.store.renewOrchestrationLease(item.lease, 1000), "LEASE_LOST");
    });

    test("abandoning releases the lease at once, keeping the messages", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store, HUB, "w1");
      await h.store.abandonOrchestration(item.lease);
      const again = await leaseOrchestration(h.store, HUB, "w2");
      assert.deepStrictEqual(again.messages, item.messages);
      await rejectsWithCode(h.store.commitOrchestration(item.lease, checkpointFor(item)), "LEASE_LOST");
    });

    test("abandoning with a delay hides the messages until then", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const item = await leaseOrchestration(h.store, HUB, "w1");
      const before = Date.now();
      await h.store.abandonOrchestration(item.lease, 300);
      assert.equal(await h.store.leaseNextOrchestration(HUB, "w2", [ORCH], LONG_LEASE), undefined);
      const wake = await h.store.nextWakeUp(HUB, [ORCH], []);
      assert.ok(wake !== undefined && wake >= before + 300 && wake <= Date.now() + 300, `wake-up at ${wake}`);
      await sleep(Math.max(0, wake - Date.now()) + 20);
      const again = await leaseOrchestration(h.store, HUB, "w2");
      assert.deepStrictEqual(
        again.messages.map((m) => m.id),
        item.messages.map((m) => m.id),
      );
    });

    test("abandoning a lost lease is ignored and does not disturb the new holder", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      const stale = await leaseOrchestration(h.store, HUB, "w1", 30);
      await sleep(60);
      const fresh = await leaseOrchestration(h.store, HUB, "w2");
      await h.store.abandonOrchestration(stale.lease, 10_000);
      assert.equal(await h.store.leaseNextOrchestration(HUB, "w3", [ORCH], LONG_LEASE), undefined);
      await h.store.commitOrchestration(fresh.lease, checkpointFor(fresh, { consumedMessageIds: [] }));
      // The stale abandon did not delay the messages.
      const after = await leaseOrchestration(h.store, HUB, "w3");
      assert.deepStrictEqual(after.messages, fresh.messages);
    });
  });
}
