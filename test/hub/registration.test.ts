/**
 * The TaskHub's own contract: options and registrations are validated, registration closes at
 * start(), a stopped hub stays stopped, and calls to names a worker does not have fail clearly.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidArgumentError } from "../../src/core/errors.js";
import type { OrchestratorFunction } from "../../src/core/replay.js";
import { TaskHub } from "../../src/hub.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { immediate, rejectsWithCode, STORE_KINDS, sleep, storeSuiteOptions, useHubEnv } from "./fixtures.js";

const noop = immediate(() => "ok");

for (const kind of STORE_KINDS) {
  describe(`TaskHub registration and lifecycle (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("registration returns typed references and lists names sorted", () => {
      const hub = env.hub();
      const act = hub.activity("Zeta", (n: number) => n);
      const orch = hub.orchestrator("Alpha", noop);
      hub.activity("Beta", () => 1);
      assert.deepEqual(act, { kind: "activity", name: "Zeta" });
      assert.deepEqual(orch, { kind: "orchestrator", name: "Alpha" });
      assert.deepEqual(hub.activityNames(), ["Beta", "Zeta", "refrain.http"]); // built-in behind ctx.callHttp
      assert.deepEqual(hub.orchestratorNames(), ["Alpha"]);
    });

    test("duplicate names, non-functions and bad names are INVALID_ARGUMENT", () => {
      const hub = env.hub();
      hub.activity("Act", () => 1);
      hub.orchestrator("Orch", noop);
      const invalid = (register: () => unknown, message: RegExp) =>
        assert.throws(register, (err: unknown) => {
          assert.ok(err instanceof InvalidArgumentError);
          assert.equal(err.code, "INVALID_ARGUMENT");
          assert.match(err.message, message);
          return true;
        });
      invalid(() => hub.activity("Act", () => 2), /activity 'Act' is already registered/);
      invalid(() => hub.orchestrator("Orch", noop), /orchestrator 'Orch' is already registered/);
      invalid(() => hub.activity("NotFn", "text" as unknown as () => void), /must be a function/);
      invalid(() => hub.orchestrator("NotFn", {} as unknown as OrchestratorFunction), /must be a function/);
      invalid(() => hub.activity("", () => 1), /must not be empty/);
      invalid(() => hub.orchestrator("bad\nname", noop), /control characters/);
      invalid(() => hub.orchestrator("@counter", noop), /begins with '@', which is reserved for entities/);
      assert.deepEqual(hub.orchestratorNames(), ["Orch"], "failed registrations left nothing behind");
    });

    test("async functions and async generators are rejected as orchestrators", () => {
      const hub = env.hub();
      const asyncFn = async () => "x";
      const asyncGen = async function* () {
        yield 1;
      };
      for (const fn of [asyncFn, asyncGen]) {
        assert.throws(
          () => hub.orchestrator("Async", fn as unknown as OrchestratorFunction),
          (err: unknown) => {
            assert.ok(err instanceof InvalidArgumentError);
            assert.match(err.message, /must be a synchronous generator function \(function\*\)/);
            return true;
          },
        );
      }
      assert.deepEqual(hub.orchestratorNames(), []);
    });

    test("registering after start() is INVALID_STATE", async () => {
      const hub = env.hub();
      hub.orchestrator("Early", noop);
      await hub.start();
      await hub.start(); // idempotent
      await rejectsWithCode(() => hub.orchestrator("Late", noop), "INVALID_STATE");
      await rejectsWithCode(() => hub.activity("Late", () => 1), "INVALID_STATE");
      assert.deepEqual(hub.orchestratorNames(), ["Early"]);
    });

    test("a stopped hub cannot start again and its client reports HUB_STOPPED", async () => {
      const hub = env.hub();
      hub.orchestrator("Orch", noop);
      await hub.start();
      const id = await hub.client.startNew("Orch");
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      await hub.stop();
      await hub.stop(); // idempotent
      await rejectsWithCode(hub.start(), "HUB_STOPPED");
      await rejectsWithCode(hub.client.startNew("Orch"), "HUB_STOPPED");
      await rejectsWithCode(hub.client.getStatus(id), "HUB_STOPPED");
      await rejectsWithCode(hub.client.listInstances(), "HUB_STOPPED");
    });

    test("stop() during start() leaves no workers running", async () => {
      const hub = env.hub({ maxIdleMs: 20 });
      hub.orchestrator("Orch", noop);
      const starting = hub.start();
      await hub.stop();
      await rejectsWithCode(starting, "HUB_STOPPED");
      await sleep(100);
      assert.deepEqual(env.logger.lines, [], "no dispatcher polled the closed store");
    });

    test("a start() that failed to open the store fails again when retried", async () => {
      const store = env.store();
      await store.close();
      const hub = env.hub({ store });
      hub.orchestrator("Orch", noop);
      await rejectsWithCode(hub.start(), "STORE_CLOSED");
      await rejectsWithCode(hub.start(), "STORE_CLOSED");
    });

    test("a hub that was never started can be stopped, and then not started", async () => {
      const hub = env.hub();
      await hub.stop();
      await rejectsWithCode(hub.start(), "HUB_STOPPED");
    });

    test("an activity the orchestrator calls but no hub registered fails the instance with ACTIVITY_NOT_FOUND", async () => {
      const hub = env.hub();
      hub.activity("Known", () => 1);
      hub.orchestrator("CallsMissing", function* (ctx) {
        return yield ctx.callActivity("Missing");
      });
      await hub.start();
      const id = await hub.client.startNew("CallsMissing");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Failed");
      assert.equal(done.failureDetails?.code, "ACTIVITY_NOT_FOUND");
      assert.match(
        done.failureDetails.message,
        /no activity named 'Missing' is registered \(registered: Known, refrain\.http\)/,
      );
    });
  });
}

describe("TaskHub options", () => {
  test("invalid options are INVALID_ARGUMENT", () => {
    const store = new MemoryStore();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: "" }, /task hub name '' is invalid/],
      [{ name: "has space" }, /is invalid/],
      [{ name: "x".repeat(65) }, /is invalid/],
      [{ leaseMs: 0 }, /leaseMs must be a positive integer/],
      [{ maxPayloadBytes: 1.5 }, /maxPayloadBytes must be a positive integer/],
      [{ maxIdleMs: -1 }, /maxIdleMs/],
      [{ stopGraceMs: Number.NaN }, /stopGraceMs/],
      [{ maxConcurrentActivities: 0 }, /maxConcurrentActivities/],
      [{ maxConcurrentOrchestrations: 2.5 }, /maxConcurrentOrchestrations/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new TaskHub({ store, ...options }),
        (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
        JSON.stringify(options),
      );
    }
    assert.throws(() => new TaskHub(null as unknown as object), InvalidArgumentError);
    assert.equal(new TaskHub({ store, name: "orders.v2_eu-1" }).name, "orders.v2_eu-1");
  });
});
