/**
 * Leasing ahead (`lookAheadMs`): an idle worker leases instances whose timers come due within the
 * window and starts their steps at the due time, never before; an event that arrives for a held
 * instance, from this process or from another one, is still handled before the timer it raced;
 * a stopping worker releases what it holds at once.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { OrchestrationContext } from "../../src/core/context.js";
import type { TaskHub } from "../../src/hub.js";
import type { OrchestrationStatus } from "../../src/status.js";
import type { Store } from "../../src/store/store.js";
import {
  eventually,
  type HubEnv,
  historyActions,
  rejectsWithCode,
  STORE_KINDS,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** Waits for event "go" or a timer `input` ms after the start, whichever comes first. */
function* eventOrTimer(ctx: OrchestrationContext<number>) {
  const event = ctx.waitForExternalEvent<string>("go");
  const timer = ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + ctx.getInput()));
  const winner = yield* ctx.Task.any([event, timer]);
  if (winner === event) {
    timer.cancel();
    return `event:${event.result}`;
  }
  return "timer";
}

/** Waits for a timer `input` ms after the start; returns its due time. */
function* sleeper(ctx: OrchestrationContext<number>) {
  const fireAt = new Date(ctx.currentUtcDateTime.getTime() + ctx.getInput());
  yield ctx.createTimer(fireAt);
  return fireAt.toISOString();
}

function register(hub: TaskHub): TaskHub {
  hub.orchestrator("EventOrTimer", eventOrTimer);
  hub.orchestrator("Sleeper", sleeper);
  return hub;
}

/** A store of the test's database whose look-ahead leases are recorded, by instance ID. */
function spiedStore(env: HubEnv): { store: Store; heldAhead: Set<string> } {
  const store = env.store();
  const heldAhead = new Set<string>();
  const lease = store.leaseOrchestrationsAhead?.bind(store);
  assert.ok(lease, "the store leases ahead");
  store.leaseOrchestrationsAhead = async (...args) => {
    const items = await lease(...args);
    for (const item of items) heldAhead.add(item.instance.instanceId);
    return items;
  };
  return { store, heldAhead };
}

/** Starts a hub on a spied store (see `spiedStore`). */
async function spiedHub(env: HubEnv, lookAheadMs: number) {
  const { store, heldAhead } = spiedStore(env);
  const hub = register(env.hub({ store, lookAheadMs }));
  await hub.start();
  return { hub, client: hub.client, heldAhead };
}

/** The timestamp of the step that recorded the TimerFired event. */
function firedStepAt(status: OrchestrationStatus): number {
  const history = status.history ?? [];
  const fired = history.findIndex((e) => e.kind === "TimerFired");
  assert.ok(fired >= 0, "the timer fired");
  const started = history.slice(0, fired).findLast((e) => e.kind === "OrchestratorStarted");
  assert.ok(started, "a step started before the timer fired");
  return Date.parse(started.timestamp);
}

for (const kind of STORE_KINDS) {
  describe(`leasing ahead (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("timers leased ahead fire at their due time, never before", async () => {
      const { client, heldAhead } = await spiedHub(env, 2_000);
      const ids = await Promise.all([300, 600, 900].map((ms) => client.startNew("Sleeper", { input: ms })));
      for (const id of ids) {
        const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
        const status = await client.getStatus(id, { showHistory: true });
        assert.equal(done.runtimeStatus, "Completed");
        assert.ok(heldAhead.has(id), `${id} was leased ahead`);
        const dueAt = Date.parse(done.output as string);
        assert.ok(firedStepAt(status!) >= dueAt, `${id}: the step ran at or after the due time`);
      }
    });

    test("a timer set while the worker idles wakes it in time to lease ahead, and nothing is leased before", async () => {
      const { store, heldAhead } = spiedStore(env);
      const leasedAt: number[] = [];
      const lease = store.leaseOrchestrations.bind(store);
      store.leaseOrchestrations = (...args) => {
        leasedAt.push(Date.now());
        return lease(...args);
      };
      const leaseAhead = store.leaseOrchestrationsAhead!.bind(store);
      store.leaseOrchestrationsAhead = (...args) => {
        leasedAt.push(Date.now());
        return leaseAhead(...args);
      };
      const hub = register(env.hub({ store, lookAheadMs: 200, maxIdleMs: 60_000 }));
      await hub.start();
      // Idle polls back off from 20 ms: after 1.5 s the loop is in a sleep that ends after 2.5 s.
      await new Promise((r) => setTimeout(r, 1_500));
      const created = Date.now();
      const id = await hub.client.startNew("Sleeper", { input: 700 });
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.ok(heldAhead.has(id), "leased ahead of its due time");
      const early = leasedAt.filter((t) => t >= created && t < created + 450).map((t) => t - created);
      assert.deepStrictEqual(early, [], "no lease before the look-ahead window opens (ms after the start)");
      const status = await hub.client.getStatus(id, { showHistory: true });
      assert.ok(firedStepAt(status!) >= Date.parse(done.output as string), "fired at or after its due time");
    });

    test("an event raised in this process for an instance held ahead is handled at once", async () => {
      const { client, heldAhead } = await spiedHub(env, 2_000);
      const id = await client.startNew("EventOrTimer", { input: 1_500 });
      await eventually("the instance to be leased ahead", () => heldAhead.has(id));
      await client.raiseEvent(id, "go", "now");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, "event:now");
      // Handled before the timer came due: the step that completed it had no TimerFired.
      assert.ok(!(await historyActions(client, id)).includes("TimerFired"));
    });

    test("held instances are released when reading their messages fails, not left to expire", async () => {
      const { store, heldAhead } = spiedStore(env);
      const read = store.readLeasedMessages!.bind(store);
      let failures = 0;
      store.readLeasedMessages = async (...args) => {
        if (failures++ === 0) throw new Error("store unavailable (injected)");
        return read(...args);
      };
      // A lease far longer than the test: only a release lets the timer fire in time.
      const hub = register(env.hub({ store, leaseMs: 120_000, lookAheadMs: 5_000 }));
      await hub.start();
      const id = await hub.client.startNew("Sleeper", { input: 500 });
      await eventually("the instance to be leased ahead", () => heldAhead.has(id));
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.ok(failures >= 1, "the failing read was attempted");
      assert.ok(
        env.logger.lines.some((l) => l.level === "error" && l.message === "orchestration dispatcher error"),
        "the failure is logged",
      );
    });

    if (kind !== "memory") {
      test("an event raised from another process for an instance held ahead is not overtaken by its timer", async () => {
        const { client, heldAhead } = await spiedHub(env, 2_000);
        const id = await client.startNew("EventOrTimer", { input: 1_000 });
        await eventually("the instance to be leased ahead", () => heldAhead.has(id));
        // A client on its own connection (pool): the worker hears of the event through the store.
        await env.hub().client.raiseEvent(id, "go", "elsewhere");
        const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
        assert.equal(done.output, "event:elsewhere");
        const kinds = await historyActions(client, id);
        const timer = kinds.indexOf("TimerFired");
        // SQLite: handled with the timer, first. PostgreSQL: its notification ends the hold at once.
        if (kind === "postgres") assert.equal(timer, -1, `handled before the timer: ${kinds.join(", ")}`);
        else assert.ok(timer < 0 || kinds.indexOf("EventRaised") < timer, `event first: ${kinds.join(", ")}`);
      });

      test("a stopping worker releases the instances it holds ahead", async () => {
        // A lease far longer than the test: only a release lets the second worker in.
        const { store, heldAhead } = spiedStore(env);
        const first = register(env.hub({ store, leaseMs: 120_000, lookAheadMs: 5_000 }));
        await first.start();
        const id = await first.client.startNew("Sleeper", { input: 1_000 });
        await eventually("the instance to be leased ahead", () => heldAhead.has(id));
        await first.stop();
        const second = register(env.hub({ leaseMs: 120_000 }));
        await second.start();
        const done = await second.client.waitForCompletion(id, { timeoutMs: 10_000 });
        assert.equal(done.runtimeStatus, "Completed");
      });
    }
  });
}

describe("lookAheadMs validation", () => {
  const env = useHubEnv("memory");
  for (const [options, why] of [
    [{ lookAheadMs: -1 }, "negative"],
    [{ lookAheadMs: 1.5 }, "not an integer"],
    [{ leaseMs: 1_000, lookAheadMs: 600 }, "more than half the lease"],
  ] as const) {
    test(`lookAheadMs ${why} is refused`, async () => {
      await rejectsWithCode(() => env.hub(options), "INVALID_ARGUMENT");
    });
  }
});
