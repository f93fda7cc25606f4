/**
 * Durability across a clean restart, in one process: hub A stops gracefully mid-orchestration; hub B,
 * a new hub on a new SqliteStore over the same file with the same registrations, carries on. Leases
 * are long (60 s) so the tests also prove a graceful stop releases what it holds: were a lease left
 * behind, hub B could not finish within the wait's timeout.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type HistoryEventView, type OrchestrationContext, SqliteStore, TaskHub } from "../../src/index.js";
import { historyProblems } from "./verify.js";

const LEASE_MS = 60_000;
const WAIT_TIMEOUT_MS = 30_000;
const SLOW_ACTIVITY_MS = 300;

/** What the activities did, across both hubs of a test. */
interface Probe {
  /** Activity name -> executions that ran to their end. */
  finished: Map<string, number>;
  /** Slow activity executions that started. */
  slowStarts: number;
  /** Resolves when the slow activity starts for the first time. */
  slowStarted: Promise<void>;
  signalSlowStarted: () => void;
}

function newProbe(): Probe {
  let signalSlowStarted = () => {};
  const slowStarted = new Promise<void>((resolve) => {
    signalSlowStarted = resolve;
  });
  return { finished: new Map(), slowStarts: 0, slowStarted, signalSlowStarted };
}

/** A hub over `dbPath` with the test's registrations; both hubs of a test call this. */
function makeHub(dbPath: string, probe: Probe, stopGraceMs?: number): TaskHub {
  const hub = new TaskHub({
    store: new SqliteStore({ path: dbPath }),
    leaseMs: LEASE_MS,
    maxIdleMs: 100,
    ...(stopGraceMs ? { stopGraceMs } : {}),
  });
  const done = (name: string) => probe.finished.set(name, (probe.finished.get(name) ?? 0) + 1);
  const prepare = hub.activity("Prepare", (x: number) => {
    done("Prepare");
    return x + 1;
  });
  const combine = hub.activity("Combine", ([a, b]: [number, number]) => {
    done("Combine");
    return a * 100 + b;
  });
  const slow = hub.activity("Slow", async (x: number, ctx) => {
    probe.slowStarts++;
    probe.signalSlowStarted();
    await sleep(SLOW_ACTIVITY_MS, undefined, { signal: ctx.signal });
    done("Slow");
    return x * 2;
  });
  hub.orchestrator("PrepareThenAwait", function* (ctx: OrchestrationContext<number>) {
    const prepared = yield* ctx.callActivity(prepare, ctx.getInput<number>());
    const go = yield* ctx.waitForExternalEvent<number>("Go");
    return yield* ctx.callActivity(combine, [prepared, go]);
  });
  hub.orchestrator("SlowStep", function* (ctx: OrchestrationContext<number>) {
    const doubled = yield* ctx.callActivity(slow, ctx.getInput<number>());
    return doubled + 1;
  });
  return hub;
}

/** Polls until `ready` holds for the instance's status (with history), or fails after the timeout. */
async function waitUntil(
  hub: TaskHub,
  instanceId: string,
  ready: (status: string, history: readonly HistoryEventView[]) => boolean,
): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const status = await hub.client.getStatus(instanceId, { showHistory: true });
    if (status && ready(status.runtimeStatus, status.history ?? [])) return;
    assert.ok(Date.now() < deadline, `${instanceId} never got ready: ${JSON.stringify(status)}`);
    await sleep(50);
  }
}

/** The final status with history, after checking the history's scheduling invariants. */
async function checkedHistory(hub: TaskHub, instanceId: string): Promise<HistoryEventView[]> {
  const status = await hub.client.getStatus(instanceId, { showHistory: true });
  const history = status?.history ?? [];
  assert.deepEqual(historyProblems(instanceId, history), []);
  return history;
}

const count = (history: readonly HistoryEventView[], kind: string) =>
  history.filter((e) => e.kind === kind).length;

describe("durability across a graceful restart", () => {
  let dir: string;
  const hubs: TaskHub[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "refrain-restart-"));
  });

  after(async () => {
    for (const hub of hubs) await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A hub tracked for cleanup. */
  const hubOn = (dbPath: string, probe: Probe, stopGraceMs?: number) => {
    const hub = makeHub(dbPath, probe, stopGraceMs);
    hubs.push(hub);
    return hub;
  };

  test("an instance waiting for an event resumes on a new hub over the same file", async () => {
    const dbPath = join(dir, "waiting.db");
    const probe = newProbe();
    const hubA = hubOn(dbPath, probe);
    await hubA.start();
    const id = await hubA.client.startNew("PrepareThenAwait", { input: 4, instanceId: "waiting-1" });
    await waitUntil(
      hubA,
      id,
      (status, history) => status === "Running" && count(history, "TaskCompleted") === 1,
    );
    await hubA.stop();

    const hubB = hubOn(dbPath, probe);
    await hubB.start();
    await hubB.client.raiseEvent(id, "Go", 7);
    const final = await hubB.client.waitForCompletion(id, { timeoutMs: WAIT_TIMEOUT_MS });
    assert.equal(final.runtimeStatus, "Completed");
    assert.equal(final.output, 507);

    const history = await checkedHistory(hubB, id);
    assert.equal(count(history, "TaskScheduled"), 2, "Prepare and Combine scheduled once each");
    assert.equal(count(history, "EventRaised"), 1);
    assert.deepEqual(Object.fromEntries(probe.finished), { Prepare: 1, Combine: 1 });
  });

  test("stop() lets a running activity finish; the new hub completes the instance", async () => {
    const dbPath = join(dir, "finish.db");
    const probe = newProbe();
    const hubA = hubOn(dbPath, probe);
    await hubA.start();
    const id = await hubA.client.startNew("SlowStep", { input: 20, instanceId: "slow-finish" });
    await probe.slowStarted;
    await hubA.stop();
    assert.equal(probe.finished.get("Slow"), 1, "the grace period let the activity finish");

    const hubB = hubOn(dbPath, probe);
    await hubB.start();
    const final = await hubB.client.waitForCompletion(id, { timeoutMs: WAIT_TIMEOUT_MS });
    assert.equal(final.output, 41);
    const history = await checkedHistory(hubB, id);
    assert.equal(count(history, "TaskScheduled"), 1);
    assert.equal(probe.slowStarts, 1, "a finished activity is not run again");
  });

  test("stop() past its grace period releases a running activity; the new hub runs it again", async () => {
    const dbPath = join(dir, "release.db");
    const probe = newProbe();
    const hubA = hubOn(dbPath, probe, 1);
    await hubA.start();
    const id = await hubA.client.startNew("SlowStep", { input: 30, instanceId: "slow-release" });
    await probe.slowStarted;
    await hubA.stop();
    assert.equal(probe.finished.get("Slow"), undefined, "the activity was aborted, not finished");

    const hubB = hubOn(dbPath, probe);
    await hubB.start();
    const final = await hubB.client.waitForCompletion(id, { timeoutMs: WAIT_TIMEOUT_MS });
    assert.equal(final.output, 61);
    const history = await checkedHistory(hubB, id);
    assert.equal(count(history, "TaskScheduled"), 1, "the redelivered activity was not scheduled again");
    assert.equal(probe.slowStarts, 2, "the released activity ran again on the new hub");
    assert.equal(probe.finished.get("Slow"), 1);
  });
});
