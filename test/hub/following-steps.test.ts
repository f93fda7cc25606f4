/**
 * Steps computed ahead: a worker that starts an instance it runs commits the first step with the
 * creation; one that holds an instance warm commits the step after an activity with the
 * activity's completion; and it runs the activities its commits claim without leasing them. The
 * tests check that this saves the leases and never changes what happens: a message that arrived
 * first, a suspension or a termination during the activity each wins over the shortcut.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TaskHub } from "../../src/hub.js";
import type { Store } from "../../src/store/store.js";
import {
  eventually,
  type Gate,
  gate,
  historyActions,
  historyKinds,
  rejectsWithCode,
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

/**
 * Registers "SlowThenInc": activity "Slow" (n + 1, once the returned gate opens), then "Inc"
 * (n + 1) on its result.
 */
function slowThenInc(hub: TaskHub): Gate {
  const slow = gate();
  hub.activity("Slow", async (n: number) => {
    await slow.promise;
    return n + 1;
  });
  hub.activity("Inc", (n: number) => n + 1);
  hub.orchestrator("SlowThenInc", function* (ctx) {
    const a = yield* ctx.callActivity<number>("Slow", ctx.getInput<number>());
    return yield* ctx.callActivity<number>("Inc", a);
  });
  return slow;
}

/** How many activities the instance has scheduled so far. */
async function scheduledCount(hub: TaskHub, instanceId: string): Promise<number> {
  return (await historyActions(hub.client, instanceId)).filter((k) => k === "TaskScheduled").length;
}

for (const kind of STORE_KINDS) {
  describe(`following steps (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("a warm chain is never leased; its history is what cold replay writes", async () => {
      const warmStore = env.store();
      const warm = countLeases(warmStore, "warm");
      const hub = env.hub({ name: "warm", store: warmStore });
      chain(hub);
      await hub.start();
      const id = await hub.client.startNew("Chain", { input: 10 });
      assert.equal((await hub.client.waitForCompletion(id, { timeoutMs: 20_000 })).output, 15);
      assert.deepEqual(
        warm,
        { orchestrations: 0, activities: 0 },
        "the first step commits with the creation, each next one with its activity's completion",
      );
      const warmKinds = await historyKinds(hub.client, id);

      const coldStore = env.store();
      const cold = countLeases(coldStore, "cold");
      const coldHub = env.hub({ name: "cold", store: coldStore, replayCacheSize: 0 });
      chain(coldHub);
      await coldHub.start();
      const coldId = await coldHub.client.startNew("Chain", { input: 10 });
      assert.equal((await coldHub.client.waitForCompletion(coldId, { timeoutMs: 20_000 })).output, 15);
      assert.equal(cold.orchestrations, 5, "without warm state every step after the first is leased");
      assert.deepEqual(await historyKinds(coldHub.client, coldId), warmKinds);
    });

    test("an event waiting when the activity ends goes first; the refused step logs nothing", async () => {
      const store = env.store();
      let paused = false;
      const lease = store.leaseOrchestrations.bind(store);
      store.leaseOrchestrations = async (...args) => (paused ? [] : lease(...args));
      const slow = gate();
      const logged: unknown[] = [];
      const hub = env.hub({
        store,
        maxIdleMs: 50,
        orchestrationLog: (_level, _id, args) => logged.push(args[0]),
      });
      hub.activity("Slow", async () => {
        await slow.promise;
        return "done";
      });
      hub.orchestrator("Then", function* (ctx) {
        const work = yield* ctx.callActivity<string>("Slow");
        ctx.log.info("slow done");
        const event = yield* ctx.waitForExternalEvent<string>("Go");
        return [work, event];
      });
      await hub.start();
      const id = await hub.client.startNew("Then", { input: null });
      paused = true; // the event waits in the inbox, unleased, while the activity ends
      await hub.client.raiseEvent(id, "Go", "event");
      slow.open();
      await eventually("the result to be queued behind the event", async () => {
        const queued = await hub.store.queueStats(hub.name, Date.now());
        return queued.messages === 2;
      });
      paused = false;
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.deepEqual(done.output, ["done", "event"]);
      const actions = await historyActions(hub.client, id);
      assert.ok(
        actions.indexOf("EventRaised") < actions.indexOf("TaskCompleted"),
        `arrival order kept: ${actions.join(", ")}`,
      );
      assert.deepEqual(logged, ["slow done"], "the step computed ahead and refused logged nothing");
    });

    test("a start whose ID is taken runs nothing of its first step", async () => {
      const ran: string[] = [];
      const logged: unknown[] = [];
      const hub = env.hub({ orchestrationLog: (_level, _id, args) => logged.push(args[0]) });
      const hold = gate();
      hub.activity("Hold", async (who: string) => {
        ran.push(who);
        await hold.promise;
        return who;
      });
      hub.orchestrator("Once", function* (ctx) {
        ctx.log.info(`first step of ${ctx.getInput<string>()}`);
        return yield* ctx.callActivity<string>("Hold", ctx.getInput<string>());
      });
      await hub.start();
      await hub.client.startNew("Once", { instanceId: "only", input: "a" });
      await rejectsWithCode(
        hub.client.startNew("Once", { instanceId: "only", input: "b" }),
        "INSTANCE_ALREADY_EXISTS",
      );
      hold.open();
      assert.equal((await hub.client.waitForCompletion("only", { timeoutMs: 20_000 })).output, "a");
      assert.deepEqual(ran, ["a"]);
      assert.deepEqual(logged, ["first step of a"]);
    });

    test("a result that arrives while the instance is suspended waits for resume", async () => {
      const hub = env.hub();
      const slow = slowThenInc(hub);
      await hub.start();
      const id = await hub.client.startNew("SlowThenInc", { input: 0 });
      await statusBecomes(hub.client, id, "Running");
      await hub.client.suspend(id, "hold on");
      await statusBecomes(hub.client, id, "Suspended");
      slow.open();
      await sleep(200);
      assert.equal((await hub.client.getStatus(id))?.runtimeStatus, "Suspended");
      assert.equal(await scheduledCount(hub, id), 1, "nothing ran while suspended");
      await hub.client.resume(id, "go on");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(done.output, 2);
    });

    test("a result that arrives after a termination does not revive the instance", async () => {
      const hub = env.hub();
      const slow = slowThenInc(hub);
      await hub.start();
      const id = await hub.client.startNew("SlowThenInc", { input: 0 });
      await statusBecomes(hub.client, id, "Running");
      await hub.client.terminate(id, "no longer needed");
      await statusBecomes(hub.client, id, "Terminated");
      slow.open();
      await sleep(200);
      assert.equal((await hub.client.getStatus(id))?.runtimeStatus, "Terminated");
      assert.equal(await scheduledCount(hub, id), 1, "the second activity was never scheduled");
    });
  });
}
