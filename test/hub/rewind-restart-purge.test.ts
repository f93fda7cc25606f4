/**
 * Recovery and cleanup through the DurableClient: rewind of a Failed instance (only the failed
 * steps run again), restart with a new or the same ID, and purging terminal instances.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TaskHub } from "../../src/hub.js";
import {
  historyActions,
  immediate,
  instanceCount,
  rejectsWithCode,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** How often each activity ran. */
type Runs = Record<"prepare" | "flaky" | "finish" | "add" | "child", number>;

/** Registers the test orchestrators; "Flaky" fails on its first run only. */
async function startedHub(hub: TaskHub, runs: Runs): Promise<TaskHub> {
  hub.activity("Prepare", (n: number) => {
    runs.prepare++;
    return n + 1;
  });
  hub.activity("Flaky", (n: number) => {
    runs.flaky++;
    if (runs.flaky === 1) throw new Error("first run fails");
    return n * 10;
  });
  hub.activity("Finish", (n: number) => {
    runs.finish++;
    return `result ${n}`;
  });
  hub.activity("Add", (pair: [number, number]) => {
    runs.add++;
    return pair[0] + pair[1];
  });
  hub.orchestrator("Pipeline", function* (ctx) {
    const prepared = yield* ctx.callActivity<number>("Prepare", ctx.input);
    const scaled = yield* ctx.callActivity<number>("Flaky", prepared);
    return yield ctx.callActivity("Finish", scaled);
  });
  hub.orchestrator(
    "FlakyChild",
    immediate((ctx) => {
      runs.child++; // it never waits, so it runs once per instance: a test-only side effect
      if (runs.child === 1) throw new Error("child fails once");
      return `child of ${ctx.parentInstanceId}`;
    }),
  );
  hub.orchestrator("ParentOfFlaky", function* (ctx) {
    const prepared = yield* ctx.callActivity<number>("Prepare", 1);
    const child = yield ctx.callSubOrchestrator("FlakyChild");
    return { prepared, child };
  });
  hub.orchestrator("Sum", function* (ctx) {
    return yield ctx.callActivity("Add", ctx.input);
  });
  hub.orchestrator("Wait", function* (ctx) {
    return yield ctx.waitForExternalEvent("go");
  });
  hub.orchestrator(
    "Fail",
    immediate(() => {
      throw new Error("always");
    }),
  );
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`rewind, restart and purge (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);
    const setup = async () => {
      const runs: Runs = { prepare: 0, flaky: 0, finish: 0, add: 0, child: 0 };
      const hub = await startedHub(env.hub(), runs);
      return { client: hub.client, runs };
    };

    test("rewind resumes a Failed instance from its failed step without re-running the steps before it", async () => {
      const { client, runs } = await setup();
      const id = await client.startNew("Pipeline", { input: 4 });
      const failed = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(failed.runtimeStatus, "Failed");
      assert.match(failed.failureDetails?.message ?? "", /first run fails/);
      assert.deepEqual(runs, { prepare: 1, flaky: 1, finish: 0, add: 0, child: 0 });

      await client.rewind(id, "fixed the bug");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.equal(done.output, "result 50");
      assert.equal(done.failureDetails, undefined, "the old failure is cleared");
      assert.deepEqual(runs, { prepare: 1, flaky: 2, finish: 1, add: 0, child: 0 });
      const kinds = await historyActions(client, id);
      assert.ok(kinds.includes("ExecutionRewound"));
      assert.ok(!kinds.includes("TaskFailed"), `the failure was cut from history: ${kinds.join(", ")}`);
      assert.equal(kinds.filter((k) => k === "TaskScheduled").length, 3);
    });

    test("rewind of a parent whose sub-orchestration failed runs the child again", async () => {
      const { client, runs } = await setup();
      const id = await client.startNew("ParentOfFlaky", { instanceId: "parent" });
      const failed = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(failed.runtimeStatus, "Failed");
      assert.equal(failed.failureDetails?.cause?.message, "child fails once");
      await client.rewind(id);
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.deepEqual(done.output, { prepared: 2, child: "child of parent" });
      assert.equal(runs.prepare, 1, "the activity before the failure did not run again");
      const children = await client.getStatusBy({ instanceIdPrefix: "parent:" });
      assert.deepEqual(
        children.map((c) => c.runtimeStatus),
        ["Completed"],
        "the failed child was replaced under the same ID",
      );
    });

    test("only Failed instances can be rewound", async () => {
      const { client } = await setup();
      const done = await client.startNew("Sum", { input: [1, 2] });
      await client.waitForCompletion(done, { timeoutMs: 10_000 });
      await rejectsWithCode(client.rewind(done), "INVALID_STATE");
      const waiting = await client.startNew("Wait");
      await rejectsWithCode(client.rewind(waiting), "INVALID_STATE");
      assert.equal((await client.getStatus(done))?.runtimeStatus, "Completed");
    });

    test("restart starts a new instance with the same input under a new ID", async () => {
      const { client, runs } = await setup();
      const id = await client.startNew("Sum", { input: [2, 3] });
      await client.waitForCompletion(id, { timeoutMs: 10_000 });
      const newId = await client.restart(id);
      assert.notEqual(newId, id);
      assert.match(newId, /^[0-9a-f-]{36}$/);
      const again = await client.waitForCompletion(newId, { timeoutMs: 10_000 });
      assert.equal(again.name, "Sum");
      assert.deepEqual(again.input, [2, 3]);
      assert.equal(again.output, 5);
      assert.equal(runs.add, 2);
      assert.equal((await client.getStatus(id))?.runtimeStatus, "Completed", "the original is untouched");
      assert.equal(await instanceCount(client), 2);
    });

    test("restart with restartWithNewInstanceId: false reuses the ID of a finished instance", async () => {
      const { client, runs } = await setup();
      const id = await client.startNew("Sum", { input: [7, 8], instanceId: "same" });
      const first = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      await sleep(5);
      const newId = await client.restart(id, { restartWithNewInstanceId: false });
      assert.equal(newId, "same");
      const second = await client.waitForCompletion("same", { timeoutMs: 10_000 });
      assert.equal(second.output, 15);
      assert.ok(
        second.createdTime.getTime() > first.createdTime.getTime(),
        "a new instance replaced the old",
      );
      assert.equal(runs.add, 2);
      assert.equal(await instanceCount(client), 1);

      const failed = await client.startNew("Fail", { instanceId: "broken" });
      await client.waitForCompletion(failed, { timeoutMs: 10_000 });
      await client.restart("broken", { restartWithNewInstanceId: false });
      const rerun = await client.waitForCompletion("broken", { timeoutMs: 10_000 });
      assert.equal(rerun.runtimeStatus, "Failed");
    });

    test("restart with the same ID of a running instance is InstanceAlreadyExistsError", async () => {
      const { client } = await setup();
      const id = await client.startNew("Wait", { input: "keep" });
      await statusBecomes(client, id, "Running");
      await rejectsWithCode(
        client.restart(id, { restartWithNewInstanceId: false }),
        "INSTANCE_ALREADY_EXISTS",
      );
      const copy = await client.restart(id);
      assert.equal((await client.getStatus(copy))?.input, "keep", "a copy under a new ID is fine");
    });

    test("purgeInstanceHistory deletes one terminal instance and reports the count", async () => {
      const { client } = await setup();
      const done = await client.startNew("Sum", { input: [1, 1] });
      await client.waitForCompletion(done, { timeoutMs: 10_000 });
      const running = await client.startNew("Wait");
      await statusBecomes(client, running, "Running");

      assert.deepEqual(await client.purgeInstanceHistory(done), { instancesDeleted: 1 });
      assert.equal(await client.getStatus(done), undefined);
      assert.equal(await client.getStatus(done, { showHistory: true }), undefined);
      assert.deepEqual(await client.purgeInstanceHistory(done), { instancesDeleted: 0 });
      assert.deepEqual(await client.purgeInstanceHistory("ghost"), { instancesDeleted: 0 });

      assert.deepEqual(await client.purgeInstanceHistory(running), { instancesDeleted: 0 });
      assert.equal((await client.getStatus(running))?.runtimeStatus, "Running");
      await client.raiseEvent(running, "go", "still works");
      assert.equal((await client.waitForCompletion(running, { timeoutMs: 10_000 })).output, "still works");

      const reused = await client.startNew("Sum", { input: [2, 2], instanceId: done });
      assert.equal((await client.waitForCompletion(reused, { timeoutMs: 10_000 })).output, 4);
    });

    test("purgeInstanceHistoryBy deletes terminal instances matching the filters only", async () => {
      const { client } = await setup();
      const completed = [
        await client.startNew("Sum", { input: [1, 0] }),
        await client.startNew("Sum", { input: [2, 0] }),
      ];
      const failed = await client.startNew("Fail");
      const terminated = await client.startNew("Wait");
      const running = await client.startNew("Wait");
      for (const id of [...completed, failed]) await client.waitForCompletion(id, { timeoutMs: 10_000 });
      await client.terminate(terminated, "stop");
      await client.waitForCompletion(terminated, { timeoutMs: 10_000 });
      await statusBecomes(client, running, "Running");
      await sleep(20);
      const cutoff = new Date();
      await sleep(20);
      const late = await client.startNew("Sum", { input: [3, 0] });
      await client.waitForCompletion(late, { timeoutMs: 10_000 });

      assert.deepEqual(await client.purgeInstanceHistoryBy({ runtimeStatus: ["Running"] }), {
        instancesDeleted: 0,
      });
      assert.deepEqual(await client.purgeInstanceHistoryBy({ createdFrom: new Date(Date.now() + 60_000) }), {
        instancesDeleted: 0,
      });
      assert.deepEqual(
        await client.purgeInstanceHistoryBy({ runtimeStatus: ["Completed"], createdTo: cutoff }),
        { instancesDeleted: 2 },
      );
      for (const id of completed) assert.equal(await client.getStatus(id), undefined);
      assert.equal((await client.getStatus(late))?.runtimeStatus, "Completed", "created after the cutoff");

      assert.deepEqual(await client.purgeInstanceHistoryBy({ createdFrom: cutoff }), { instancesDeleted: 1 });
      assert.equal(await client.getStatus(late), undefined);

      assert.deepEqual(await client.purgeInstanceHistoryBy({}), { instancesDeleted: 2 });
      const left = await client.getStatusAll();
      assert.deepEqual(
        left.map((s) => [s.instanceId, s.runtimeStatus]),
        [[running, "Running"]],
      );
    });
  });
}
