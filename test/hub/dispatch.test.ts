/**
 * The dispatchers of one hub: concurrency limits for activities and orchestration steps, graceful
 * stop with a running activity (its commit is checked across hubs in multi-hub.test.ts), and
 * in-process wake-ups that make progress without polling.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskHub } from "../../src/hub.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { Store } from "../../src/store/store.js";
import {
  eventually,
  gate,
  historyActions,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** Tracks how many calls are inside a section at once. */
class OverlapProbe {
  current = 0;
  max = 0;
  total = 0;

  async during<T>(work: () => Promise<T>): Promise<T> {
    this.current++;
    this.total++;
    this.max = Math.max(this.max, this.current);
    try {
      return await work();
    } finally {
      this.current--;
    }
  }
}

/** Registers a fan-out of `Work` activities and a chain of `Step` activities, then starts. */
async function startedHub(hub: TaskHub, probe: OverlapProbe): Promise<TaskHub> {
  hub.activity("Work", (n: number) => probe.during(() => sleep(30).then(() => n * n)));
  hub.activity("Step", (trail: string[]) => [...trail, `step${trail.length + 1}`]);
  hub.orchestrator("FanOut", function* (ctx) {
    const count = ctx.getInput<number>();
    const tasks = Array.from({ length: count }, (_, i) => ctx.callActivity<number>("Work", i));
    const squares = yield* ctx.Task.all(tasks);
    return squares.reduce((a, b) => a + b, 0);
  });
  hub.orchestrator("Chain", function* (ctx) {
    let trail: string[] = [];
    for (let i = 0; i < 5; i++) trail = yield* ctx.callActivity<string[]>("Step", trail);
    return trail;
  });
  hub.orchestrator("Nap", function* (ctx) {
    yield ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + 300));
    return "rested";
  });
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`dispatch (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("maxConcurrentActivities: 2 runs 10 parallel activities at most two at a time", async () => {
      const probe = new OverlapProbe();
      const hub = await startedHub(env.hub({ maxConcurrentActivities: 2 }), probe);
      const id = await hub.client.startNew("FanOut", { input: 10 });
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(done.output, 285);
      assert.equal(probe.total, 10);
      assert.equal(probe.max, 2);
    });

    test("without a tight limit the same fan-out runs its activities concurrently", async () => {
      const probe = new OverlapProbe();
      const hub = await startedHub(env.hub({ maxConcurrentActivities: 16 }), probe);
      const id = await hub.client.startNew("FanOut", { input: 10 });
      await hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(probe.total, 10);
      assert.ok(probe.max > 2, `max overlap was ${probe.max}`);
    });

    test("maxConcurrentOrchestrations: 1 still completes many instances", async () => {
      const probe = new OverlapProbe();
      const hub = await startedHub(
        env.hub({ maxConcurrentOrchestrations: 1, maxConcurrentActivities: 4 }),
        probe,
      );
      const ids: string[] = [];
      for (let i = 0; i < 15; i++) ids.push(await hub.client.startNew("FanOut", { input: 2 }));
      const results = await Promise.all(
        ids.map((id) => hub.client.waitForCompletion(id, { timeoutMs: 30_000 })),
      );
      assert.deepEqual(
        results.map((s) => s.output),
        ids.map(() => 1),
      );
      assert.equal(probe.total, 30);
    });

    test("stop() waits for a running activity to finish", async () => {
      let started = false;
      let finished = false;
      const hub = env.hub({ stopGraceMs: 10_000 });
      hub.activity("Slow", async () => {
        started = true;
        await sleep(200);
        finished = true;
        return "slow done";
      });
      hub.orchestrator("UsesSlow", function* (ctx) {
        return yield ctx.callActivity("Slow");
      });
      await hub.start();
      await hub.client.startNew("UsesSlow");
      await eventually("the activity to start", () => started);
      assert.equal(finished, false, "the activity is still running");
      await hub.stop();
      assert.equal(finished, true, "stop() returned only after the activity finished");
    });

    test("a chain of 5 activities completes via in-process wake-ups even with maxIdleMs 60 s", async () => {
      const hub = await startedHub(env.hub({ maxIdleMs: 60_000 }), new OverlapProbe());
      await sleep(300); // let the idle back-off grow
      const id = await hub.client.startNew("Chain");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000, pollMs: 60_000 });
      assert.deepEqual(done.output, ["step1", "step2", "step3", "step4", "step5"]);
    });

    test("a durable timer wakes an idle worker at its due time even with maxIdleMs 60 s", async () => {
      const hub = await startedHub(env.hub({ maxIdleMs: 60_000 }), new OverlapProbe());
      await sleep(300);
      const id = await hub.client.startNew("Nap");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 20_000, pollMs: 60_000 });
      assert.equal(done.output, "rested");
      assert.deepEqual(await historyActions(hub.client, id), [
        "ExecutionStarted",
        "TimerCreated",
        "TimerFired",
        "ExecutionCompleted",
      ]);
    });
  });
}

describe("orchestration slots and group commits", () => {
  test("a step waiting only for its commit gives its slot to the next lease", async () => {
    const store = new MemoryStore();
    const commitGate = gate();
    const leased: string[] = [];
    let commitsHeld = 0;
    // The first commit of a step stays in flight until the test opens the gate.
    const gated = new Proxy(store, {
      get(target, property) {
        if (property === "leaseOrchestrations") {
          return async (...args: Parameters<Store["leaseOrchestrations"]>) => {
            const items = await target.leaseOrchestrations(...args);
            leased.push(...items.map((i) => i.instance.instanceId));
            return items;
          };
        }
        if (property === "commitOrchestrations") {
          return async (...args: Parameters<Store["commitOrchestrations"]>) => {
            if (commitsHeld++ === 0) await commitGate.promise;
            return target.commitOrchestrations(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const hub = new TaskHub({ store: gated, maxConcurrentOrchestrations: 1, stopGraceMs: 200 });
    hub.orchestrator("Waits", function* (ctx) {
      return yield* ctx.waitForExternalEvent<number>("go");
    });
    await hub.start();
    try {
      await hub.client.startNew("Waits", { instanceId: "a" });
      await hub.client.startNew("Waits", { instanceId: "b" });
      await statusBecomes(hub.client, "a", "Running");
      await statusBecomes(hub.client, "b", "Running");
      await hub.client.raiseEvent("a", "go", 1);
      await eventually("a's commit to be in flight", () => commitsHeld === 1);
      await hub.client.raiseEvent("b", "go", 2);
      await eventually("b to be leased while a's commit is in flight", () => leased.includes("b"));
      assert.equal(
        (await hub.client.getStatus("a"))?.runtimeStatus,
        "Running",
        "a's step is not committed yet",
      );
      commitGate.open();
      assert.equal((await hub.client.waitForCompletion("a", { timeoutMs: 10_000 })).output, 1);
      assert.equal((await hub.client.waitForCompletion("b", { timeoutMs: 10_000 })).output, 2);
    } finally {
      commitGate.open();
      await hub.stop();
    }
  });
});
