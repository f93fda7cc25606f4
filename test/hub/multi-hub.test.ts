/**
 * Several TaskHub objects on one SQLite file, as several processes would run: work handed over
 * after a graceful stop, lease expiry takeover with fencing, split registrations, separate hub
 * names, and non-determinism detected when a later process runs changed orchestrator code.
 * SQLite only: a MemoryStore lives and dies with one hub.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { StoreUnavailableError } from "../../src/core/errors.js";
import type { OrchestratorFunction } from "../../src/core/replay.js";
import type { Store } from "../../src/store/store.js";
import {
  eventually,
  historyActions,
  immediate,
  recordingLogger,
  sleep,
  statusBecomes,
  useHubEnv,
} from "./fixtures.js";

/**
 * A store whose activity leases can no longer be renewed or released, like a frozen or partitioned
 * process: its leases simply run out.
 */
function withFrozenActivityLeases(store: Store): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === "renewActivityLease")
        return () => Promise.reject(new StoreUnavailableError("renewal blocked by the test"));
      if (property === "abandonActivity") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Calls "Slow" then "Fast" and returns both results. */
const slowThenFast: OrchestratorFunction = function* (ctx) {
  const slow = yield ctx.callActivity("Slow");
  const fast = yield ctx.callActivity("Fast");
  return [slow, fast];
};

/** Charges once and returns the result. */
const pay: OrchestratorFunction = function* (ctx) {
  return yield ctx.callActivity("Charge", ctx.input);
};

describe("several hubs on one SQLite file", () => {
  const env = useHubEnv("sqlite");

  test("a gracefully stopped hub commits its running activity; a new hub finishes the instance", async () => {
    const runs = { slowOnA: 0, slowOnB: 0, fastOnB: 0 };
    let finished = false;
    const a = env.hub({ stopGraceMs: 10_000 });
    a.activity("Slow", async () => {
      runs.slowOnA++;
      await sleep(200);
      finished = true;
      return "slow";
    });
    a.activity("Fast", () => "fast on A");
    a.orchestrator("SlowThenFast", slowThenFast);
    await a.start();
    const id = await a.client.startNew("SlowThenFast");
    await eventually("Slow to start on hub A", () => runs.slowOnA === 1);
    await a.stop();
    assert.equal(finished, true, "stop() waited for the activity");

    const b = env.hub();
    b.activity("Slow", () => {
      runs.slowOnB++;
      return "slow again";
    });
    b.activity("Fast", () => {
      runs.fastOnB++;
      return "fast";
    });
    b.orchestrator("SlowThenFast", slowThenFast);
    await b.start();
    const done = await b.client.waitForCompletion(id, { timeoutMs: 15_000 });
    assert.deepEqual(done.output, ["slow", "fast"], "hub A's result was committed and used");
    assert.deepEqual(runs, { slowOnA: 1, slowOnB: 0, fastOnB: 1 });
  });

  test("stopping a hub whose activity hangs aborts it after stopGraceMs and releases it to the next hub", async () => {
    const deliveries: number[] = [];
    let abortReason: unknown;
    const a = env.hub({ stopGraceMs: 100 });
    a.activity("Charge", (_amount: number, ctx) => {
      deliveries.push(ctx.deliveryCount);
      ctx.signal.addEventListener("abort", () => {
        abortReason = ctx.signal.reason;
      });
      return new Promise<string>(() => {});
    });
    a.orchestrator("Pay", pay);
    await a.start();
    const id = await a.client.startNew("Pay", { input: 5 });
    await eventually("the activity to start", () => deliveries.length === 1);
    await a.stop();
    assert.equal((abortReason as { code?: string } | undefined)?.code, "HUB_STOPPED");

    const b = env.hub();
    b.activity("Charge", (amount: number, ctx) => {
      deliveries.push(ctx.deliveryCount);
      return `charged ${amount}`;
    });
    b.orchestrator("Pay", pay);
    await b.start();
    const done = await b.client.waitForCompletion(id, { timeoutMs: 15_000 });
    assert.equal(done.output, "charged 5");
    assert.deepEqual(deliveries, [1, 2]);
  });

  test("an expired activity lease is taken over by another worker, and the late result is fenced off", async () => {
    const released = { open: () => {} };
    const aLogger = recordingLogger();
    const seen: { worker: string; delivery: number; key: string }[] = [];
    const a = env.hub({
      workerId: "worker-A",
      leaseMs: 300,
      maxConcurrentActivities: 1, // its one slot stays busy, so it cannot re-lease the task itself
      stopGraceMs: 50,
      logger: aLogger,
      store: withFrozenActivityLeases(env.store()),
    });
    a.activity("Charge", async (amount: number, ctx) => {
      seen.push({ worker: "A", delivery: ctx.deliveryCount, key: ctx.idempotencyKey });
      await new Promise<void>((resolve) => {
        released.open = resolve;
      });
      return `A charged ${amount}`;
    });
    a.orchestrator("Pay", pay);
    await a.start();
    const id = await a.client.startNew("Pay", { input: 30 });
    await eventually("hub A to run the activity", () => seen.length === 1);

    const b = env.hub({ workerId: "worker-B", leaseMs: 300, maxIdleMs: 100 });
    b.activity("Charge", (amount: number, ctx) => {
      seen.push({ worker: "B", delivery: ctx.deliveryCount, key: ctx.idempotencyKey });
      return `B charged ${amount}`;
    });
    b.orchestrator("Pay", pay);
    await b.start();
    const done = await b.client.waitForCompletion(id, { timeoutMs: 15_000 });
    assert.equal(done.output, "B charged 30");
    assert.deepEqual(
      seen.map((s) => [s.worker, s.delivery]),
      [
        ["A", 1],
        ["B", 2],
      ],
    );
    assert.equal(seen[0]?.key, seen[1]?.key, "the idempotency key is stable across deliveries");

    released.open();
    await eventually("hub A to discard its late result", () =>
      aLogger.lines.some((l) => l.message === "activity result discarded: lease lost"),
    );
    const after = await b.client.getStatus(id, { showHistory: true });
    assert.equal(after?.output, "B charged 30");
    assert.equal(after.history?.filter((e) => e.kind === "TaskCompleted").length, 1);
  });

  test("functions registered in different hubs of one task hub cooperate on one instance", async () => {
    const orchestrating = env.hub({ acceptUnregisteredNames: true });
    orchestrating.orchestrator("Pay", pay);
    await orchestrating.start();
    const id = await orchestrating.client.startNew("Pay", { input: 12 });
    await sleep(200);
    assert.deepEqual(await historyActions(orchestrating.client, id), ["ExecutionStarted", "TaskScheduled"]);

    const working = env.hub({ maxIdleMs: 100 });
    working.activity("Charge", (amount: number) => `charged ${amount} elsewhere`);
    await working.start();
    const done = await orchestrating.client.waitForCompletion(id, { timeoutMs: 15_000 });
    assert.equal(done.output, "charged 12 elsewhere");
  });

  test("a waiter in one process hears of a completion made by another, without polling", async () => {
    const worker = env.hub();
    worker.activity("Charge", (amount: number) => `charged ${amount}`);
    worker.orchestrator("Pay", pay);
    await worker.start();
    const caller = env.hub(); // a client-only process: nothing registered, not started
    const id = await caller.client.startNew("Pay", { input: 5 });
    // The safety-net poll comes after 60 s: only a notification ends the wait before that.
    const waiting = caller.client.waitForCompletion(id, { timeoutMs: 60_000, pollMs: 60_000 });
    const first = await Promise.race([waiting, sleep(20_000).then(() => "still waiting")]);
    assert.notEqual(first, "still waiting", "the waiter was not told of the other process's commits");
    assert.equal((await waiting).output, "charged 5");
  });

  test("hubs with different names share the file but not their instances", async () => {
    const alpha = env.hub({ name: "alpha" });
    alpha.orchestrator(
      "Who",
      immediate(() => "alpha"),
    );
    const beta = env.hub({ name: "beta" });
    beta.orchestrator(
      "Who",
      immediate(() => "beta"),
    );
    await alpha.start();
    await beta.start();
    await alpha.client.startNew("Who", { instanceId: "same-id" });
    await beta.client.startNew("Who", { instanceId: "same-id" });
    const [fromAlpha, fromBeta] = await Promise.all([
      alpha.client.waitForCompletion("same-id", { timeoutMs: 15_000 }),
      beta.client.waitForCompletion("same-id", { timeoutMs: 15_000 }),
    ]);
    assert.equal(fromAlpha.output, "alpha");
    assert.equal(fromBeta.output, "beta");
    assert.equal((await alpha.client.getStatusAll()).length, 1);
    assert.deepEqual(await alpha.client.purgeInstanceHistory("same-id"), { instancesDeleted: 1 });
    assert.equal((await beta.client.getStatus("same-id"))?.output, "beta");
  });

  test("changed orchestrator code fails the instance with NON_DETERMINISM naming both calls", async () => {
    const first = env.hub();
    first.activity("Reserve", () => "reserved");
    first.orchestrator("Flow", function* (ctx) {
      const reserved = yield ctx.callActivity("Reserve");
      const decision = yield ctx.waitForExternalEvent("continue");
      return [reserved, decision];
    });
    await first.start();
    const id = await first.client.startNew("Flow", { instanceId: "flow-1" });
    await eventually("step 1 to be recorded", async () =>
      (await historyActions(first.client, id)).includes("TaskCompleted"),
    );
    await statusBecomes(first.client, id, "Running");
    await first.stop();

    const second = env.hub();
    second.activity("Reserve", () => "reserved");
    second.activity("Charge", () => "charged");
    second.orchestrator("Flow", function* (ctx) {
      const charged = yield ctx.callActivity("Charge");
      const decision = yield ctx.waitForExternalEvent("continue");
      return [charged, decision];
    });
    await second.start();
    await second.client.raiseEvent(id, "continue", "go");
    const done = await second.client.waitForCompletion(id, { timeoutMs: 15_000 });
    assert.equal(done.runtimeStatus, "Failed");
    const failure = done.failureDetails;
    assert.equal(failure?.name, "NonDeterminismError");
    assert.equal(failure.code, "NON_DETERMINISM");
    assert.match(failure.message, /instance 'flow-1' at sequence number 0/);
    assert.match(failure.message, /history recorded activity 'Reserve' scheduled \(TaskScheduled\)/);
    assert.match(failure.message, /the code now scheduled activity 'Charge'/);
  });
});
