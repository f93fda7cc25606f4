/**
 * Following steps: a worker that holds an instance warm commits the step after an activity with
 * the activity's completion, and runs the activities its commits claim without leasing them. The
 * tests check that this saves the leases and never changes what happens: a message that arrived
 * first, a suspension or a termination during the activity each wins over the shortcut.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TaskHub } from "../../src/hub.js";
import type { Store } from "../../src/store/store.js";
import {
  eventually,
  gate,
  historyActions,
  historyKinds,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** Counts the work items a store's lease calls hand out for task hub `hub`. */
function countLeases(store: Store, hub: string): { orchestrations: number; activities: number } {
  const counts = { orchestrations: 0, activities: 0 };
  const leaseOrchestrations = store.leaseOrchestrations.bind(store);
  const leaseActivities = store.leaseActivities.bind(store);
  store.leaseOrchestrations = async (...args) => {
    const items = await leaseOrchestrations(...args);
    if (args[0] === hub) counts.orchestrations += items.length;
    return items;
  };
  store.leaseActivities = async (...args) => {
    const items = await leaseActivities(...args);
    if (args[0] === hub) counts.activities += items.length;
    return items;
  };
  return counts;
}

/** Registers a 5-step chain of `Inc`. */
function chain(hub: TaskHub): void {
  hub.activity("Inc", (n: number) => n + 1);
  hub.orchestrator("Chain", function* (ctx) {
    let n = ctx.getInput<number>();
    for (let i = 0; i < 5; i++) n = yield* ctx.callActivity<number>("Inc", n);
    return n;
  });
}

for (const kind of STORE_KINDS) {
  describe(`following steps (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("a warm chain leases once; its history is what cold replay writes", async () => {
      const warmStore = env.store();
      const warm = countLeases(warmStore, "warm");
      const hub = env.hub({ name: "warm", store: warmStore });
      chain(hub);
      await hub.start();
      const id = await hub.client.startNew("Chain", { input: 10 });
      assert.equal((await hub.client.waitForCompletion(id, { timeoutMs: 20_000 })).output, 15);
      assert.deepEqual(warm, { orchestrations: 1, activities: 0 }, "only the start is leased");
      const warmKinds = await historyKinds(hub.client, id);

      const coldStore = env.store();
      const cold = countLeases(coldStore, "cold");
      const coldHub = env.hub({ name: "cold", store: coldStore, replayCacheSize: 0 });
      chain(coldHub);
      await coldHub.start();
      const coldId = await coldHub.client.startNew("Chain", { input: 10 });
      assert.equal((await coldHub.client.waitForCompletion(coldId, { timeoutMs: 20_000 })).output, 15);
      assert.equal(cold.orchestrations, 6, "without warm state every step is leased");
      assert.deepEqual(await historyKinds(coldHub.client, coldId), warmKinds);
    });

    test("an event that arrived during the activity is recorded before the activity's result", async () => {
      const slow = gate();
      const hub = env.hub();
      hub.activity("Slow", async () => {
        await slow.promise;
        return "done";
      });
      hub.orchestrator("Both", function* (ctx) {
        const first = yield* ctx.callActivity<string>("Inc0", 0);
        const work = ctx.callActivity<string>("Slow");
        const event = ctx.waitForExternalEvent<string>("Go");
        const results = yield* ctx.Task.all([work, event]);
        return [first, ...results];
      });
      hub.activity("Inc0", (n: number) => n + 1);
      await hub.start();
      const id = await hub.client.startNew("Both", { input: null });
      await eventually(
        "the slow activity to be scheduled",
        async () => (await historyActions(hub.client, id)).filter((k) => k === "TaskScheduled").length === 2,
      );
      await hub.client.raiseEvent(id, "Go", "event");
      await sleep(50);
      slow.open();
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.deepEqual(done.output, [1, "done", "event"]);
      const actions = await historyActions(hub.client, id);
      assert.ok(
        actions.indexOf("EventRaised") < actions.lastIndexOf("TaskCompleted"),
        `arrival order kept: ${actions.join(", ")}`,
      );
    });

    test("a result that arrives while the instance is suspended waits for resume", async () => {
      const slow = gate();
      const hub = env.hub();
      hub.activity("Slow", async (n: number) => {
        await slow.promise;
        return n + 1;
      });
      hub.activity("Inc", (n: number) => n + 1);
      hub.orchestrator("Pausable", function* (ctx) {
        const a = yield* ctx.callActivity<number>("Slow", 0);
        return yield* ctx.callActivity<number>("Inc", a);
      });
      await hub.start();
      const id = await hub.client.startNew("Pausable", { input: null });
      await statusBecomes(hub.client, id, "Running");
      await hub.client.suspend(id, "hold on");
      await statusBecomes(hub.client, id, "Suspended");
      slow.open();
      await sleep(200);
      assert.equal((await hub.client.getStatus(id))?.runtimeStatus, "Suspended");
      assert.equal(
        (await historyActions(hub.client, id)).filter((k) => k === "TaskScheduled").length,
        1,
        "nothing ran while suspended",
      );
      await hub.client.resume(id, "go on");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(done.output, 2);
    });

    test("a result that arrives after a termination does not revive the instance", async () => {
      const slow = gate();
      const hub = env.hub();
      hub.activity("Slow", async () => {
        await slow.promise;
        return 1;
      });
      hub.activity("Inc", (n: number) => n + 1);
      hub.orchestrator("Doomed", function* (ctx) {
        const a = yield* ctx.callActivity<number>("Slow");
        return yield* ctx.callActivity<number>("Inc", a);
      });
      await hub.start();
      const id = await hub.client.startNew("Doomed", { input: null });
      await statusBecomes(hub.client, id, "Running");
      await hub.client.terminate(id, "no longer needed");
      await statusBecomes(hub.client, id, "Terminated");
      slow.open();
      await sleep(200);
      const status = await hub.client.getStatus(id);
      assert.equal(status?.runtimeStatus, "Terminated");
      assert.equal(
        (await historyActions(hub.client, id)).filter((k) => k === "TaskScheduled").length,
        1,
        "the second activity was never scheduled",
      );
    });
  });
}
