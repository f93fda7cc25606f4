/**
 * Orchestrator behaviours end to end on a running hub: retries through durable timers, failures
 * of activities and sub-orchestrations as TaskFailedError, unhandled errors, continue-as-new,
 * durable timers and the replay-safe logger.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogLevel } from "../../src/core/context.js";
import { type FailureDetails, TaskFailedError } from "../../src/core/errors.js";
import type { TaskHub } from "../../src/hub.js";
import {
  eventually,
  type Gate,
  gate,
  historyActions,
  immediate,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** A validation failure with a custom property, thrown by orchestrator code. */
class OrderRejected extends TypeError {
  override name = "OrderRejected";
  readonly orderId = "o-7";
}

/** What a parent saw when it caught a failed task. */
interface Caught {
  isTaskFailedError: boolean;
  code: string;
  message: string;
  details: FailureDetails;
}

function caught(err: unknown): Caught {
  assert.ok(err instanceof TaskFailedError);
  return { isTaskFailedError: true, code: err.code, message: err.message, details: err.details };
}

/** Registers every orchestrator of this file; `attempts` records each "Unreliable" attempt number. */
async function startedHub(hub: TaskHub, attempts: number[], gated: Gate): Promise<TaskHub> {
  hub.activity("Gated", () => gated.promise);
  hub.activity("Unreliable", (failures: number, ctx) => {
    attempts.push(ctx.attempt);
    if (ctx.attempt <= failures) throw new Error(`attempt ${ctx.attempt} failed`);
    return `ok on attempt ${ctx.attempt}`;
  });
  hub.activity("Noop", (n: number) => n);
  hub.orchestrator("Retrying", function* (ctx) {
    return yield ctx.callActivityWithRetry(
      "Unreliable",
      { firstRetryIntervalMs: 50, maxNumberOfAttempts: 3 },
      ctx.input,
    );
  });
  hub.orchestrator(
    "Child",
    immediate((ctx) => {
      if (ctx.input === "fail") throw new RangeError("child broke");
      return "child ok";
    }),
  );
  hub.orchestrator("Parent", function* (ctx) {
    try {
      yield ctx.callSubOrchestrator("Child", "fail");
      return "not reached";
    } catch (err) {
      return caught(err);
    }
  });
  hub.orchestrator("Rejecting", function* (ctx) {
    yield ctx.callActivity("Noop", 1);
    throw new OrderRejected("order o-7 is invalid", { cause: new Error("missing address") });
  });
  hub.orchestrator("Counter", function* (ctx) {
    const n = ctx.getInput<number>();
    yield ctx.callActivity("Noop", n);
    if (n < 3) {
      ctx.continueAsNew(n + 1);
      return `abandoned ${n}`;
    }
    return `done at ${n}`;
  });
  hub.activity("ReturnsFunction", () => () => "not JSON");
  hub.orchestrator("BadResult", function* (ctx) {
    try {
      return yield ctx.callActivity("ReturnsFunction");
    } catch (err) {
      return caught(err);
    }
  });
  hub.orchestrator("StartsBusyChild", function* (ctx) {
    try {
      return yield ctx.callSubOrchestrator("Wait", undefined, "busy-child");
    } catch (err) {
      return caught(err);
    }
  });
  hub.orchestrator("Wait", function* (ctx) {
    return yield ctx.waitForExternalEvent("go");
  });
  hub.orchestrator("Carry", function* (ctx) {
    const { round, preserve } = ctx.getInput<{ round: number; preserve: boolean }>();
    if (round === 0) yield ctx.callActivity("Gated");
    const item = yield ctx.waitForExternalEvent("item");
    if (round === 0) {
      ctx.continueAsNew({ round: 1, preserve }, { preserveUnprocessedEvents: preserve });
      return undefined;
    }
    return item;
  });
  hub.orchestrator("Sleeper", function* (ctx) {
    const fireAt = new Date(ctx.currentUtcDateTime.getTime() + 300);
    yield ctx.createTimer(fireAt);
    return { woke: ctx.currentUtcDateTime.toISOString(), fireAt: fireAt.toISOString() };
  });
  hub.orchestrator("Chatty", function* (ctx) {
    ctx.log.info("start", ctx.input);
    for (let i = 1; i <= 3; i++) {
      yield ctx.callActivity("Noop", i);
      ctx.log.debug(`after ${i}`);
    }
    ctx.log.warn("end");
    return "logged";
  });
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`orchestrator behaviours (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);
    const setup = async (log?: (level: LogLevel, instanceId: string, args: unknown[]) => void) => {
      const attempts: number[] = [];
      const gated = gate();
      const hub = await startedHub(env.hub(log ? { orchestrationLog: log } : {}), attempts, gated);
      return { client: hub.client, attempts, gated };
    };

    test("callActivityWithRetry retries through durable timers visible in history", async () => {
      const { client, attempts } = await setup();
      const id = await client.startNew("Retrying", { input: 2 });
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.equal(done.output, "ok on attempt 3");
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(await historyActions(client, id), [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskScheduled",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
      ]);
      const history = (await client.getStatus(id, { showHistory: true }))?.history ?? [];
      const scheduled = history.filter((e) => e.kind === "TaskScheduled").map((e) => e.attempt);
      assert.deepEqual(scheduled, [undefined, 2, 3]);
    });

    test("when every retry fails the instance fails with the last attempt's error", async () => {
      const { client, attempts } = await setup();
      const id = await client.startNew("Retrying", { input: 5 });
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Failed");
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal(done.failureDetails?.cause?.message, "attempt 3 failed");
    });

    test("a failed sub-orchestration surfaces in the parent as TaskFailedError with the child's error", async () => {
      const { client } = await setup();
      const id = await client.startNew("Parent");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      const seen = done.output as Caught;
      assert.equal(seen.isTaskFailedError, true);
      assert.equal(seen.code, "TASK_FAILED");
      assert.match(seen.message, /sub-orchestration 'Child' failed: RangeError: child broke/);
      assert.equal(seen.details.name, "RangeError");
      assert.equal(seen.details.message, "child broke");
      assert.match(seen.details.stack ?? "", /RangeError: child broke/);
      const child = await client.getStatus(`${id}:0`);
      assert.equal(child?.runtimeStatus, "Failed");
      assert.equal(child.parentInstanceId, id);
    });

    test("an unhandled orchestrator error fails the instance with complete failureDetails", async () => {
      const { client } = await setup();
      const id = await client.startNew("Rejecting");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Failed");
      assert.equal(done.output, undefined);
      const failure = done.failureDetails;
      assert.equal(failure?.name, "OrderRejected");
      assert.equal(failure.message, "order o-7 is invalid");
      assert.deepEqual(failure.properties, { orderId: "o-7" });
      assert.match(failure.stack ?? "", /OrderRejected: order o-7 is invalid/);
      assert.equal(failure.cause?.message, "missing address");
      assert.ok(done.completedTime instanceof Date);
    });

    test("continueAsNew keeps the instance ID and the output of the last execution", async () => {
      const { client } = await setup();
      const id = await client.startNew("Counter", { input: 0, instanceId: "counter" });
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.instanceId, "counter");
      assert.equal(done.runtimeStatus, "Completed");
      assert.equal(done.output, "done at 3");
      assert.equal(done.input, 3, "the status shows the last execution's input");
      const status = await client.getStatus(id, { showHistory: true, showHistoryOutput: true });
      const history = status?.history ?? [];
      assert.equal(history.filter((e) => e.kind === "ExecutionStarted").length, 1, "only the last execution");
      assert.equal(history.find((e) => e.kind === "ExecutionStarted")?.input, 3);
      assert.equal((await client.getStatusAll()).length, 1);
    });

    test("an activity result JSON cannot hold fails the task with PAYLOAD_NOT_SERIALIZABLE", async () => {
      const { client } = await setup();
      const id = await client.startNew("BadResult");
      const seen = (await client.waitForCompletion(id, { timeoutMs: 10_000 })).output as Caught;
      assert.equal(seen.details.code, "PAYLOAD_NOT_SERIALIZABLE");
      assert.match(seen.details.message, /output of activity 'ReturnsFunction'/);
    });

    test("a sub-orchestration whose ID is taken by a running instance fails the parent's task", async () => {
      const { client } = await setup();
      await client.startNew("Wait", { instanceId: "busy-child", input: "original" });
      await statusBecomes(client, "busy-child", "Running");
      const id = await client.startNew("StartsBusyChild");
      const seen = (await client.waitForCompletion(id, { timeoutMs: 10_000 })).output as Caught;
      assert.equal(seen.isTaskFailedError, true);
      assert.equal(seen.details.code, "INSTANCE_ALREADY_EXISTS");
      const busy = await client.getStatus("busy-child");
      assert.equal(busy?.runtimeStatus, "Running");
      assert.equal(busy.input, "original", "the running instance was not replaced");
    });

    for (const preserve of [true, false]) {
      test(`continueAsNew with preserveUnprocessedEvents: ${preserve} ${preserve ? "carries" : "drops"} unconsumed events`, async () => {
        const { client, gated } = await setup();
        const id = await client.startNew("Carry", { input: { round: 0, preserve } });
        await statusBecomes(client, id, "Running");
        await client.raiseEvent(id, "item", "first");
        await client.raiseEvent(id, "item", "second");
        await eventually("both events to be buffered", async () => {
          const kinds = await historyActions(client, id);
          return kinds.filter((k) => k === "EventRaised").length === 2;
        });
        gated.open();
        if (preserve) {
          const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
          assert.equal(done.output, "second");
          return;
        }
        await eventually("the second execution to start", async () => {
          const status = await client.getStatus(id);
          return status?.runtimeStatus === "Running" && (status.input as { round: number }).round === 1;
        });
        await sleep(100);
        assert.equal((await client.getStatus(id))?.runtimeStatus, "Running", "the second event was dropped");
        await client.raiseEvent(id, "item", "third");
        assert.equal((await client.waitForCompletion(id, { timeoutMs: 10_000 })).output, "third");
      });
    }

    test("a durable timer fires after its time and the orchestration resumes from it", async () => {
      const { client } = await setup();
      const id = await client.startNew("Sleeper");
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      const { woke, fireAt } = done.output as { woke: string; fireAt: string };
      assert.ok(Date.parse(woke) >= Date.parse(fireAt), `woke at ${woke}, before ${fireAt}`);
      assert.deepEqual(await historyActions(client, id), [
        "ExecutionStarted",
        "TimerCreated",
        "TimerFired",
        "ExecutionCompleted",
      ]);
      const history = (await client.getStatus(id, { showHistory: true }))?.history ?? [];
      const created = history.find((e) => e.kind === "TimerCreated");
      const fired = history.find((e) => e.kind === "TimerFired");
      assert.equal(fired?.timerId, created?.eventId);
      assert.equal(fired?.fireAt, fireAt);
    });

    test("ctx.log lines reach the orchestrationLog sink exactly once although the code replays", async () => {
      const lines: string[] = [];
      const { client } = await setup((level, instanceId, args) => {
        lines.push(`${level} ${instanceId} ${args.map((a) => JSON.stringify(a)).join(" ")}`);
      });
      const id = await client.startNew("Chatty", { input: { user: "ann" }, instanceId: "chatty" });
      const done = await client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, "logged");
      const steps = (await historyActions(client, id)).filter((k) => k === "TaskCompleted").length;
      assert.equal(steps, 3, "the orchestrator ran in four steps, replaying each time");
      assert.deepEqual(lines, [
        'info chatty "start" {"user":"ann"}',
        'debug chatty "after 1"',
        'debug chatty "after 2"',
        'debug chatty "after 3"',
        'warn chatty "end"',
      ]);
    });
  });
}
