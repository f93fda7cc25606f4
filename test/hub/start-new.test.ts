/**
 * DurableClient.startNew over a running hub: generated and custom IDs, delayed starts, the
 * duplicate-ID rule, replacement of terminal instances and the registered-name check.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InstanceAlreadyExistsError, OrchestratorNotFoundError } from "../../src/core/errors.js";
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A hub whose "Echo" returns its input and whose "Waiter" waits for a "go" event. */
function echoHub(hub: TaskHub): TaskHub {
  hub.activity("Double", (n: number) => n * 2);
  hub.orchestrator(
    "Echo",
    immediate((ctx) => ({ input: ctx.input, at: ctx.currentUtcDateTime.toISOString() })),
  );
  hub.orchestrator("Waiter", function* (ctx) {
    if (ctx.input === "compute") return yield ctx.callActivity("Double", 21);
    return yield ctx.waitForExternalEvent("go");
  });
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`startNew (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("returns a fresh UUID when no ID is given and runs the orchestration", async () => {
      const hub = echoHub(env.hub());
      await hub.start();
      const a = await hub.client.startNew("Echo", { input: { n: 1 } });
      const b = await hub.client.startNew("Echo", { input: { n: 2 } });
      assert.match(a, UUID);
      assert.match(b, UUID);
      assert.notEqual(a, b);
      const done = await hub.client.waitForCompletion(a, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.equal(done.name, "Echo");
      assert.deepEqual((done.output as { input: unknown }).input, { n: 1 });
    });

    test("uses a custom instance ID and accepts a typed reference", async () => {
      const hub = env.hub();
      const echo = hub.orchestrator(
        "Echo",
        immediate((ctx) => ctx.input as string),
      );
      await hub.start();
      const id = await hub.client.startNew(echo, { input: "hi", instanceId: "order-42" });
      assert.equal(id, "order-42");
      const done = await hub.client.waitForCompletion("order-42", { timeoutMs: 10_000 });
      assert.equal(done.instanceId, "order-42");
      assert.equal(done.output, "hi");
    });

    test("startAt keeps the instance Pending until then and runs it afterwards", async () => {
      const hub = echoHub(env.hub());
      await hub.start();
      const startAt = new Date(Date.now() + 400);
      const id = await hub.client.startNew("Echo", { input: "later", startAt });
      const before = await hub.client.getStatus(id);
      assert.equal(before?.runtimeStatus, "Pending");
      assert.ok(before.createdTime.getTime() < startAt.getTime(), "created when startNew was called");
      await sleep(150);
      assert.equal((await hub.client.getStatus(id))?.runtimeStatus, "Pending");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      const ranAt = Date.parse((done.output as { at: string }).at);
      assert.ok(ranAt >= startAt.getTime(), `ran at ${ranAt}, before startAt ${startAt.getTime()}`);
      assert.equal(done.createdTime.getTime(), before.createdTime.getTime());
    });

    test("an ID whose instance is Pending, Running or Suspended cannot be started again", async () => {
      const hub = echoHub(env.hub());
      await hub.start();
      const { client } = hub;
      await client.startNew("Echo", { instanceId: "pending", startAt: new Date(Date.now() + 60_000) });
      await client.startNew("Waiter", { instanceId: "running" });
      await statusBecomes(client, "running", "Running");
      await client.startNew("Waiter", { instanceId: "suspended" });
      await statusBecomes(client, "suspended", "Running");
      await client.suspend("suspended");
      await statusBecomes(client, "suspended", "Suspended");
      for (const id of ["pending", "running", "suspended"]) {
        await rejectsWithCode(
          client.startNew("Echo", { instanceId: id, input: "again" }),
          "INSTANCE_ALREADY_EXISTS",
          InstanceAlreadyExistsError,
        );
        const status = await client.getStatus(id);
        assert.notEqual(status?.input, "again", `${id} was overwritten`);
      }
      assert.equal(await instanceCount(client), 3);
    });

    test("a terminal instance with the ID is replaced and its old history is gone", async () => {
      const hub = echoHub(env.hub());
      await hub.start();
      const { client } = hub;
      await client.startNew("Waiter", { instanceId: "reuse", input: "compute" });
      const first = await client.waitForCompletion("reuse", { timeoutMs: 10_000 });
      assert.equal(first.output, 42);
      assert.deepEqual(await historyActions(client, "reuse"), [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
      ]);

      await client.startNew("Waiter", { instanceId: "reuse", input: "wait" });
      await statusBecomes(client, "reuse", "Running");
      const second = await client.getStatus("reuse");
      assert.equal(second?.input, "wait");
      assert.equal(second.output, undefined, "the old output is gone");
      assert.deepEqual(await historyActions(client, "reuse"), ["ExecutionStarted"]);
      assert.equal(await instanceCount(client), 1);

      await client.raiseEvent("reuse", "go", "second run");
      const done = await client.waitForCompletion("reuse", { timeoutMs: 10_000 });
      assert.equal(done.output, "second run");
    });

    test("an unregistered name is rejected with ORCHESTRATOR_NOT_FOUND and nothing is written", async () => {
      const hub = echoHub(env.hub());
      await hub.start();
      await rejectsWithCode(
        hub.client.startNew("Nope", { instanceId: "x" }),
        "ORCHESTRATOR_NOT_FOUND",
        OrchestratorNotFoundError,
      );
      await assert.rejects(hub.client.startNew("Nope"), /registered: Echo, Waiter/);
      assert.equal(await hub.client.getStatus("x"), undefined);
      assert.equal(await instanceCount(hub.client), 0);
    });

    test("acceptUnregisteredNames accepts an unknown name, which stays Pending here", async () => {
      const hub = echoHub(env.hub({ acceptUnregisteredNames: true }));
      await hub.start();
      const id = await hub.client.startNew("ServedElsewhere", { input: 1 });
      const echo = await hub.client.startNew("Echo", { input: 2 });
      await hub.client.waitForCompletion(echo, { timeoutMs: 10_000 });
      await sleep(100);
      const status = await hub.client.getStatus(id);
      assert.equal(status?.runtimeStatus, "Pending");
      assert.equal(status.name, "ServedElsewhere");
    });

    test("a client-only hub (nothing registered) accepts any name", async () => {
      const hub = env.hub();
      const id = await hub.client.startNew("AnythingAtAll", { input: [1, 2] });
      const status = await hub.client.getStatus(id);
      assert.equal(status?.runtimeStatus, "Pending");
      assert.equal(status.name, "AnythingAtAll");
      assert.deepEqual(status.input, [1, 2]);
    });
  });
}
