/**
 * Talking to running instances through the DurableClient: raiseEvent (buffering, ordering,
 * errors), terminate (with and without recursion) and suspend/resume.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InstanceNotFoundError, InstanceNotRunningError } from "../../src/core/errors.js";
import type { TaskHub } from "../../src/hub.js";
import {
  eventually,
  type Gate,
  gate,
  historyActions,
  rejectsWithCode,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** Registers a family of orchestrators around one gated activity and starts the hub. */
async function startedHub(hub: TaskHub, slow: Gate, entered: { count: number }): Promise<TaskHub> {
  hub.activity("Slow", async (value: string) => {
    entered.count++;
    await slow.promise;
    return `slow:${value}`;
  });
  hub.orchestrator("WorkThenWait", function* (ctx) {
    const work = yield ctx.callActivity("Slow", "a");
    const approval = yield ctx.waitForExternalEvent("approval");
    return { work, approval };
  });
  hub.orchestrator("Collect", function* (ctx) {
    const items: unknown[] = [];
    for (let i = 0; i < 3; i++) items.push(yield ctx.waitForExternalEvent("item"));
    return items;
  });
  hub.orchestrator("Wait", function* (ctx) {
    return yield ctx.waitForExternalEvent("go");
  });
  hub.orchestrator("Parent", function* (ctx) {
    const child = yield ctx.callSubOrchestrator("Child", undefined, `${ctx.instanceId}-child`);
    return { child };
  });
  hub.orchestrator("Child", function* (ctx) {
    const grandchild = yield ctx.callSubOrchestrator("Wait", undefined, `${ctx.instanceId}-grand`);
    return { grandchild };
  });
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`raiseEvent, terminate, suspend and resume (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);
    const setup = async () => {
      const slow = gate();
      const entered = { count: 0 };
      const hub = await startedHub(env.hub(), slow, entered);
      return { hub, client: hub.client, slow, entered };
    };

    test("an event raised before the orchestrator waits for it is buffered, not lost", async () => {
      const { client, slow, entered } = await setup();
      const id = await client.startNew("WorkThenWait");
      await eventually("the activity to start", () => entered.count === 1);
      await client.raiseEvent(id, "approval", { by: "ann" });
      slow.open();
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.deepEqual(done.output, { work: "slow:a", approval: { by: "ann" } });
      const kinds = await historyActions(client, id);
      assert.ok(
        kinds.indexOf("EventRaised") < kinds.indexOf("TaskCompleted"),
        `the event arrived first: ${kinds.join(", ")}`,
      );
    });

    test("several events with one name are received in the order they were raised", async () => {
      const { client } = await setup();
      const id = await client.startNew("Collect");
      await client.raiseEvent(id, "item", "first");
      await client.raiseEvent(id, "item", { second: true });
      await client.raiseEvent(id, "other", "ignored");
      await client.raiseEvent(id, "item", 3);
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.deepEqual(done.output, ["first", { second: true }, 3]);
    });

    test("an event raised to a Pending (scheduled) instance is kept for it", async () => {
      const { client } = await setup();
      const id = await client.startNew("Wait", { startAt: new Date(Date.now() + 200) });
      await client.raiseEvent(id, "go", "early bird");
      assert.equal((await client.getStatus(id))?.runtimeStatus, "Pending");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, "early bird");
    });

    test("raiseEvent to an unknown instance is InstanceNotFoundError; to a finished one InstanceNotRunningError", async () => {
      const { client } = await setup();
      await rejectsWithCode(client.raiseEvent("ghost", "go"), "INSTANCE_NOT_FOUND", InstanceNotFoundError);
      const id = await client.startNew("Wait");
      await client.raiseEvent(id, "go", 1);
      await client.waitForCompletion(id, { timeoutMs: 10_000 });
      await rejectsWithCode(client.raiseEvent(id, "go", 2), "INSTANCE_NOT_RUNNING", InstanceNotRunningError);
      const terminated = await client.startNew("Wait");
      await client.terminate(terminated);
      await client.waitForCompletion(terminated, { timeoutMs: 10_000 });
      await rejectsWithCode(client.raiseEvent(terminated, "go"), "INSTANCE_NOT_RUNNING");
      assert.equal((await client.getStatus(id))?.output, 1);
    });

    test("terminate makes the reason the output and the status Terminated", async () => {
      const { client } = await setup();
      const id = await client.startNew("Wait");
      await statusBecomes(client, id, "Running");
      await client.terminate(id, "user cancelled");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Terminated");
      assert.equal(done.output, "user cancelled");
      assert.deepEqual(await historyActions(client, id), [
        "ExecutionStarted",
        "ExecutionTerminated",
        "ExecutionCompleted",
      ]);
      await rejectsWithCode(client.terminate(id, "again"), "INSTANCE_NOT_RUNNING");
    });

    test("terminate works on Pending and Suspended instances too", async () => {
      const { client } = await setup();
      const pending = await client.startNew("Wait", { startAt: new Date(Date.now() + 60_000) });
      const suspended = await client.startNew("Wait");
      await statusBecomes(client, suspended, "Running");
      await client.suspend(suspended);
      await statusBecomes(client, suspended, "Suspended");
      await client.terminate(pending, "not needed");
      await client.terminate(suspended, "gave up");
      const [p, s] = await Promise.all(
        [pending, suspended].map((id) => client.waitForCompletion(id, { timeoutMs: 10_000 })),
      );
      assert.equal(p?.runtimeStatus, "Terminated");
      assert.equal(p.output, "not needed");
      assert.equal(s?.runtimeStatus, "Terminated");
      assert.equal(s.output, "gave up");
    });

    test("terminate with { recursive: true } terminates running sub-orchestrations at every depth", async () => {
      const { client } = await setup();
      await client.startNew("Parent", { instanceId: "p" });
      await statusBecomes(client, "p-child-grand", "Running");
      await client.terminate("p", "shut it all down", { recursive: true });
      for (const id of ["p", "p-child", "p-child-grand"]) {
        const status = await client.waitForCompletion(id, { timeoutMs: 10_000 });
        assert.equal(status.runtimeStatus, "Terminated", id);
        assert.equal(status.output, "shut it all down", id);
      }
    });

    test("terminate without recursion leaves sub-orchestrations running", async () => {
      const { client } = await setup();
      await client.startNew("Parent", { instanceId: "q" });
      await statusBecomes(client, "q-child-grand", "Running");
      await client.terminate("q", "only the parent");
      assert.equal((await client.waitForCompletion("q", { timeoutMs: 10_000 })).runtimeStatus, "Terminated");
      await sleep(100);
      assert.equal((await client.getStatus("q-child"))?.runtimeStatus, "Running");
      await client.raiseEvent("q-child-grand", "go", "still alive");
      const child = await client.waitForCompletion("q-child", { timeoutMs: 10_000 });
      assert.equal(child.runtimeStatus, "Completed");
      assert.deepEqual(child.output, { grandchild: "still alive" });
      assert.equal((await client.getStatus("q"))?.runtimeStatus, "Terminated", "the parent stays terminated");
    });

    test("a suspended instance does not advance when its activity completes; resume finishes it", async () => {
      const { client, slow, entered } = await setup();
      const id = await client.startNew("WorkThenWait");
      await client.raiseEvent(id, "approval", "yes");
      await eventually("the activity to start", () => entered.count === 1);
      await client.suspend(id, "maintenance");
      await statusBecomes(client, id, "Suspended");
      slow.open();
      await sleep(300);
      const held = await client.getStatus(id);
      assert.equal(held?.runtimeStatus, "Suspended");
      assert.equal(held.output, undefined);
      await client.resume(id, "maintenance over");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.deepEqual(done.output, { work: "slow:a", approval: "yes" });
      assert.equal(entered.count, 1, "the activity ran once");
      const kinds = await historyActions(client, id);
      assert.ok(kinds.indexOf("ExecutionSuspended") < kinds.indexOf("ExecutionResumed"));
    });

    test("a suspended instance does not take an event until resumed", async () => {
      const { client } = await setup();
      const id = await client.startNew("Wait");
      await statusBecomes(client, id, "Running");
      await client.suspend(id);
      await statusBecomes(client, id, "Suspended");
      await client.raiseEvent(id, "go", "queued");
      await sleep(300);
      assert.equal((await client.getStatus(id))?.runtimeStatus, "Suspended");
      await client.resume(id);
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, "queued");
    });

    test("suspend and resume of a finished instance are InstanceNotRunningError", async () => {
      const { client } = await setup();
      const id = await client.startNew("Wait");
      await client.raiseEvent(id, "go");
      await client.waitForCompletion(id, { timeoutMs: 10_000 });
      await rejectsWithCode(client.suspend(id), "INSTANCE_NOT_RUNNING");
      await rejectsWithCode(client.resume(id), "INSTANCE_NOT_RUNNING");
      assert.equal((await client.getStatus(id))?.runtimeStatus, "Completed");
    });
  });
}
