/**
 * Reading instances through the DurableClient: getStatus (input, history, custom status, failure
 * details) and waitForCompletion.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InstanceNotFoundError, TimeoutError } from "../../src/core/errors.js";
import type { TaskHub } from "../../src/hub.js";
import type { Store } from "../../src/store/store.js";
import {
  rejectsWithCode,
  STORE_KINDS,
  sleep,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

/** An upstream failure with extra fields, as real HTTP client errors have. */
class HttpError extends Error {
  override name = "HttpError";
  readonly code = "E_UPSTREAM";
  readonly httpStatus = 503;
  readonly body = { reason: "overloaded" };
}

/** A store whose instance reads return a stale snapshot `delayMs` late, widening read races. */
function withSlowInstanceReads(store: Store, slow: { delayMs: number }): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === "getInstance") {
        return async (hub: string, instanceId: string) => {
          const record = await target.getInstance(hub, instanceId);
          await sleep(slow.delayMs);
          return record;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Registers the functions the tests below use and starts the hub. */
async function startedHub(hub: TaskHub): Promise<TaskHub> {
  hub.activity("Double", (n: number) => n * 2);
  hub.activity("CallUpstream", () => {
    throw new HttpError("upstream said no", { cause: new Error("socket hang up") });
  });
  hub.orchestrator("DoubleIt", function* (ctx) {
    const doubled = yield ctx.callActivity("Double", ctx.input);
    return { doubled };
  });
  hub.orchestrator("Staged", function* (ctx) {
    ctx.setCustomStatus({ stage: "waiting", since: 1 });
    const decision = yield ctx.waitForExternalEvent("decision");
    ctx.setCustomStatus({ stage: "done" });
    return decision;
  });
  hub.orchestrator("Upstream", function* (ctx) {
    return yield ctx.callActivity("CallUpstream");
  });
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`getStatus and waitForCompletion (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("getStatus of an unknown instance is undefined", async () => {
      const hub = await startedHub(env.hub());
      assert.equal(await hub.client.getStatus("never-started"), undefined);
      assert.equal(await hub.client.getStatus("never-started", { showHistory: true }), undefined);
    });

    test("a completed instance shows name, input, output and times; showInput: false hides the input", async () => {
      const hub = await startedHub(env.hub());
      const before = Date.now();
      const id = await hub.client.startNew("DoubleIt", { input: 21, instanceId: "dbl" });
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      const status = await hub.client.getStatus(id);
      assert.ok(status);
      assert.equal(status.name, "DoubleIt");
      assert.equal(status.instanceId, "dbl");
      assert.equal(status.runtimeStatus, "Completed");
      assert.equal(status.input, 21);
      assert.deepEqual(status.output, { doubled: 42 });
      assert.ok(status.createdTime.getTime() >= before - 1);
      assert.ok(status.lastUpdatedTime.getTime() >= status.createdTime.getTime());
      assert.equal(status.history, undefined, "no history unless asked");
      const hidden = await hub.client.getStatus(id, { showInput: false });
      assert.equal(hidden?.input, undefined);
      assert.ok(hidden && !("input" in hidden));
      assert.deepEqual(hidden.output, { doubled: 42 });
    });

    test("showHistory lists the events in order; showHistoryOutput decodes payloads, otherwise they are left out", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("DoubleIt", { input: 5 });
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });

      const bare = await hub.client.getStatus(id, { showHistory: true });
      assert.deepEqual(
        bare?.history?.map((e) => e.kind),
        [
          "OrchestratorStarted",
          "ExecutionStarted",
          "TaskScheduled",
          "OrchestratorStarted",
          "TaskCompleted",
          "ExecutionCompleted",
        ],
      );
      for (const event of bare.history) {
        assert.ok(!("input" in event) && !("result" in event), `${event.kind} carries a payload`);
        assert.equal(typeof event.timestamp, "string");
      }
      const scheduled = bare.history.find((e) => e.kind === "TaskScheduled");
      assert.equal(scheduled?.name, "Double");
      const completed = bare.history.find((e) => e.kind === "TaskCompleted");
      assert.equal(completed?.taskScheduledId, scheduled?.eventId);

      const full = await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true });
      const byKind = new Map(full?.history?.map((e) => [e.kind, e]));
      assert.equal(byKind.get("ExecutionStarted")?.input, 5);
      assert.equal(byKind.get("TaskScheduled")?.input, 5);
      assert.equal(byKind.get("TaskCompleted")?.result, 10);
      assert.deepEqual(byKind.get("ExecutionCompleted")?.result, { doubled: 10 });
    });

    test("customStatus is visible while running and after completion", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Staged");
      const running = await statusBecomes(hub.client, id, "Running");
      assert.deepEqual(running.customStatus, { stage: "waiting", since: 1 });
      await hub.client.raiseEvent(id, "decision", "approve");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, "approve");
      assert.deepEqual(done.customStatus, { stage: "done" });
    });

    test("failureDetails keep the activity error's name, message, stack, code, properties and cause", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Upstream");
      const status = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(status.runtimeStatus, "Failed");
      const failure = status.failureDetails;
      assert.ok(failure);
      assert.equal(failure.name, "TaskFailedError");
      assert.equal(failure.code, "TASK_FAILED");
      assert.match(failure.message, /CallUpstream/);
      assert.match(failure.message, /upstream said no/);

      const original = failure.cause;
      assert.ok(original, "the activity error is the cause");
      assert.equal(original.name, "HttpError");
      assert.equal(original.message, "upstream said no");
      assert.equal(original.code, "E_UPSTREAM");
      assert.deepEqual(original.properties, { httpStatus: 503, body: { reason: "overloaded" } });
      assert.match(original.stack ?? "", /HttpError: upstream said no/);
      assert.match(original.stack ?? "", /status\.test\.js/);
      assert.equal(original.cause?.name, "Error");
      assert.equal(original.cause.message, "socket hang up");
      assert.match(original.cause.stack ?? "", /socket hang up/);
      assert.equal(status.output, undefined);
    });

    test("waitForCompletion returns the final status of completed, failed and terminated instances", async () => {
      const hub = await startedHub(env.hub());
      const ok = await hub.client.startNew("DoubleIt", { input: 1 });
      const failed = await hub.client.startNew("Upstream");
      const stopped = await hub.client.startNew("Staged");
      await statusBecomes(hub.client, stopped, "Running");
      await hub.client.terminate(stopped, "enough");
      const results = await Promise.all(
        [ok, failed, stopped].map((id) => hub.client.waitForCompletion(id, { timeoutMs: 10_000 })),
      );
      assert.deepEqual(
        results.map((s) => s.runtimeStatus),
        ["Completed", "Failed", "Terminated"],
      );
      assert.deepEqual(results[0]?.output, { doubled: 2 });
      assert.equal(results[2]?.output, "enough");
    });

    test("waitForCompletion throws TimeoutError for an instance that is still waiting", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Staged");
      await assert.rejects(hub.client.waitForCompletion(id, { timeoutMs: 150 }), (err: unknown) => {
        assert.ok(err instanceof TimeoutError);
        assert.equal(err.code, "TIMEOUT");
        assert.equal(err.retryable, true);
        assert.match(err.message, new RegExp(`'${id}' is still Running after 150 ms`));
        return true;
      });
    });

    test("waitForCompletion throws InstanceNotFoundError for an unknown instance", async () => {
      const hub = await startedHub(env.hub());
      await rejectsWithCode(
        hub.client.waitForCompletion("ghost", { timeoutMs: 1_000 }),
        "INSTANCE_NOT_FOUND",
        InstanceNotFoundError,
      );
    });

    test(
      "waitForCompletion does not miss a completion that happens while it reads the status",
      { timeout: 10_000 },
      async () => {
        const store = env.store();
        const slowReads = { delayMs: 0 };
        const hub = await startedHub(env.hub({ store: withSlowInstanceReads(store, slowReads) }));
        const id = await hub.client.startNew("Staged");
        await statusBecomes(hub.client, id, "Running");
        slowReads.delayMs = 300;
        // A lost wake-up would wait for the 60 s poll, beyond this test's timeout.
        const waiting = hub.client.waitForCompletion(id, { timeoutMs: 60_000, pollMs: 60_000 });
        await sleep(50); // the first read has returned "Running" and is held back
        await hub.client.raiseEvent(id, "decision", "during the read");
        const done = await waiting;
        assert.equal(done.output, "during the read");
      },
    );

    test("waitForCompletion wakes on in-process changes without waiting for its poll interval", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Staged");
      await statusBecomes(hub.client, id, "Running");
      const waiting = hub.client.waitForCompletion(id, { timeoutMs: 20_000, pollMs: 60_000 });
      await sleep(50);
      await hub.client.raiseEvent(id, "decision", "late");
      const done = await waiting;
      assert.equal(done.output, "late");
    });
  });
}
