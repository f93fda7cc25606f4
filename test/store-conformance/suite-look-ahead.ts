/**
 * Conformance: leasing ahead (the optional `leaseOrchestrationsAhead` and `readLeasedMessages`).
 * A store without them says so with a skipped test; one with them leases messages that come due
 * within the window (and no later ones), judges leases at the current time, and reads a held
 * instance's messages as they are now.
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { Store } from "../../src/store/store.js";
import {
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  newInstance,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  sleep,
  WORKER,
} from "./fixtures.js";

/** The store's look-ahead methods, or undefined (with the test skipped) when it has none. */
function lookAhead(t: TestContext, store: Store) {
  const { leaseOrchestrationsAhead: lease, readLeasedMessages: read } = store;
  if (!lease || !read) {
    t.skip("this store does not lease ahead (the worker then leases work when it is due)");
    return undefined;
  }
  return { lease: lease.bind(store), read: read.bind(store) };
}

/** Declares the look-ahead tests. */
export function lookAheadTests(h: StoreHarness): void {
  describe("leasing ahead", () => {
    test("leases what comes due within the window, and nothing later", async (t) => {
      const ahead = lookAhead(t, h.store);
      if (!ahead) return;
      const now = Date.now();
      await h.store.createInstance(HUB, newInstance("soon", { visibleAt: now + 2_000 }));
      await h.store.createInstance(HUB, newInstance("later", { visibleAt: now + 60_000 }));
      assert.deepEqual(await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 10 }), []);
      const items = await ahead.lease(HUB, WORKER, [ORCH], LONG_LEASE, 10_000, { max: 10 });
      assert.deepEqual(
        items.map((i) => [i.instance.instanceId, i.messages.map((m) => m.visibleAt)]),
        [["soon", [now + 2_000]]],
      );
      assert.ok(items[0]!.lease.expiresAt >= now + LONG_LEASE, "the lease runs from now");
      // Held: neither another look-ahead nor the wake-up time counts it.
      assert.deepEqual(await ahead.lease(HUB, "other", [ORCH], LONG_LEASE, 10_000, { max: 10 }), []);
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), now + 60_000);
    });

    test("reads a held instance's messages as they are now: arrivals in, future ones out", async (t) => {
      const ahead = lookAhead(t, h.store);
      if (!ahead) return;
      const now = Date.now();
      await instanceWithStatus(h.store, "held", "Running", {
        messages: [eventMessage("held", "timer-like", now + 3_000)],
      });
      const [item] = await ahead.lease(HUB, WORKER, [ORCH], LONG_LEASE, 10_000, { max: 1 });
      assert.deepEqual(
        item?.messages.map((m) => m.visibleAt),
        [now + 3_000],
      );
      assert.deepEqual(await ahead.read(HUB, [item!.lease]), [[]], "nothing is visible yet");
      await h.store.appendMessage(HUB, eventMessage("held", "arrived"));
      const [current] = await ahead.read(HUB, [item!.lease]);
      assert.deepEqual(
        current?.map((m) => m.event.kind === "EventRaised" && m.event.name),
        ["arrived"],
      );
    });

    test("reads messages that came due after the window as well", async (t) => {
      const ahead = lookAhead(t, h.store);
      if (!ahead) return;
      const now = Date.now();
      await instanceWithStatus(h.store, "held", "Running", {
        messages: [eventMessage("held", "first", now + 50), eventMessage("held", "second", now + 250)],
      });
      const [item] = await ahead.lease(HUB, WORKER, [ORCH], LONG_LEASE, 100, { max: 1 });
      assert.equal(item?.messages.length, 1, "only the first is within the window");
      await sleep(Math.max(0, now + 300 - Date.now()));
      const [current] = await ahead.read(HUB, [item!.lease]);
      assert.deepEqual(
        current?.map((m) => m.event.kind === "EventRaised" && m.event.name),
        ["first", "second"],
      );
    });

    test("refuses a window that is not a positive number, leasing nothing", async (t) => {
      const ahead = lookAhead(t, h.store);
      if (!ahead) return;
      await h.store.createInstance(HUB, newInstance("a", { visibleAt: Date.now() + 1_000 }));
      for (const bad of [0, -5, Number.NaN]) {
        await rejectsWithCode(
          ahead.lease(HUB, WORKER, [ORCH], LONG_LEASE, bad, { max: 1 }),
          "INVALID_ARGUMENT",
        );
      }
      assert.equal((await ahead.lease(HUB, WORKER, [ORCH], LONG_LEASE, 5_000, { max: 1 })).length, 1);
    });
  });
}
