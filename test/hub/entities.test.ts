/**
 * Durable entities end to end on every store: operations in arrival order, rollback of a failing
 * operation, calls and signals from orchestrations, entities signalling entities and starting
 * orchestrations, scheduled signals, listing, reading and cleaning entity storage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntityId } from "../../src/core/entity-id.js";
import type { TaskHub } from "../../src/hub.js";
import { eventually, rejectsWithCode, STORE_KINDS, storeSuiteOptions, useHubEnv } from "./fixtures.js";

/** Registers a list entity, a counter, and orchestrations using them; starts the hub. */
async function entityHub(hub: TaskHub): Promise<TaskHub> {
  hub.entity<string[]>("List", (ctx) => {
    switch (ctx.operationName) {
      case "append":
        ctx.setState([...ctx.getState(() => []), ctx.getInput<string>()]);
        return;
      case "get":
        return ctx.getState(() => []);
      case "appendThenFail":
        ctx.setState([...ctx.getState(() => []), "never"]);
        ctx.signalEntity(new EntityId("List", "side"), "append", "never");
        throw Object.assign(new RangeError("list is full"), { limit: 3 });
      case "delete":
        ctx.destructOnExit();
        return;
      case "forward":
        ctx.signalEntity(new EntityId("Counter", ctx.entityKey), "add", ctx.getInput<number>());
        return;
      case "startReport":
        return ctx.startNewOrchestration(
          "Report",
          ctx.getState(() => []),
          `report-${ctx.entityKey}`,
        );
      default:
        throw new Error(`unknown operation ${ctx.operationName}`);
    }
  });
  hub.entity<number>("Counter", (ctx) => {
    if (ctx.operationName === "add") ctx.setState(ctx.getState(() => 0) + ctx.getInput<number>());
    else if (ctx.operationName === "get") ctx.return(ctx.getState(() => 0));
    else if (ctx.operationName === "isNew") ctx.return(ctx.isNewlyConstructed);
  });
  hub.orchestrator("Report", function* (ctx) {
    return yield* ctx.callActivity("Count", ctx.input);
  });
  hub.activity("Count", async (items: string[]) => items.length);
  hub.orchestrator("CallList", function* (ctx) {
    const id = new EntityId("List", ctx.getInput<string>());
    yield ctx.callEntity(id, "append", "a");
    let error: unknown;
    try {
      yield ctx.callEntity(id, "appendThenFail");
    } catch (err) {
      error = err;
    }
    const items = yield ctx.callEntity(id, "get");
    const details = (error as { details?: unknown }).details;
    return { items, message: (error as Error).message, details };
  });
  hub.orchestrator("Fresh", function* (ctx) {
    const id = new EntityId("Counter", ctx.instanceId);
    const before = yield ctx.callEntity(id, "isNew");
    yield ctx.callEntity(id, "add", 1);
    const after = yield ctx.callEntity(id, "isNew");
    return [before, after];
  });
  hub.orchestrator("SignalCounter", function* (ctx) {
    const id = new EntityId("Counter", "from-orchestration");
    for (let i = 1; i <= 5; i++) ctx.signalEntity(id, "add", i);
    return yield ctx.callEntity(id, "get");
  });
  await hub.start();
  return hub;
}

const listState = async (hub: TaskHub, key: string) =>
  (await hub.client.readEntityState<string[]>(new EntityId("List", key))).entityState;

for (const kind of STORE_KINDS) {
  describe(`durable entities (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("100 signals to one entity apply in exactly the order they were sent", async () => {
      const hub = await entityHub(env.hub());
      const id = new EntityId("List", "ordered");
      const sent = Array.from({ length: 100 }, (_, i) => `item-${i}`);
      for (const item of sent) await hub.client.signalEntity(id, "append", item);
      const state = await eventually("every signal to apply", async () => {
        const items = await listState(hub, "ordered");
        return items?.length === sent.length ? items : undefined;
      });
      assert.deepEqual(state, sent);
    });

    test("a failing operation rolls back its state and its signals; the caller gets the error details", async () => {
      const hub = await entityHub(env.hub());
      const instanceId = await hub.client.startNew("CallList", { input: "rollback" });
      const done = await hub.client.waitForCompletion(instanceId, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed", JSON.stringify(done.failureDetails));
      const output = done.output as { items: string[]; message: string; details: Record<string, unknown> };
      assert.deepEqual(output.items, ["a"]);
      assert.match(
        output.message,
        /operation 'appendThenFail' of entity '@list@rollback' failed: RangeError/,
      );
      assert.equal(output.details.name, "RangeError");
      assert.equal(output.details.message, "list is full");
      assert.deepEqual(output.details.properties, { limit: 3 });
      assert.match(String(output.details.stack), /RangeError: list is full/);
      assert.deepEqual(await listState(hub, "rollback"), ["a"]);
      const side = await hub.client.readEntityState(new EntityId("List", "side"));
      assert.equal(side.entityExists, false, "the failed operation's signal was never sent");
    });

    test("signals from an orchestration arrive before its later call", async () => {
      const hub = await entityHub(env.hub());
      const instanceId = await hub.client.startNew("SignalCounter");
      const done = await hub.client.waitForCompletion(instanceId, { timeoutMs: 10_000 });
      assert.equal(done.output, 15);
    });

    test("an entity signals another entity and starts an orchestration", async () => {
      const hub = await entityHub(env.hub());
      const id = new EntityId("List", "k1");
      await hub.client.signalEntity(id, "append", "x");
      await hub.client.signalEntity(id, "append", "y");
      await hub.client.signalEntity(id, "forward", 7);
      await hub.client.signalEntity(id, "startReport");
      const counter = await eventually("the forwarded signal", async () => {
        const s = await hub.client.readEntityState<number>(new EntityId("Counter", "k1"));
        return s.entityExists ? s.entityState : undefined;
      });
      assert.equal(counter, 7);
      const report = await eventually("the started orchestration", () => hub.client.getStatus("report-k1"));
      const done = await hub.client.waitForCompletion(report.instanceId, { timeoutMs: 10_000 });
      assert.equal(done.output, 2);
    });

    test("a scheduled signal is applied only once its time has come", async () => {
      const hub = await entityHub(env.hub());
      const id = new EntityId("Counter", "later");
      const at = new Date(Date.now() + 400);
      await hub.client.signalEntity(id, "add", 1, { signalTime: at });
      await hub.client.signalEntity(id, "add", 10);
      await eventually(
        "the immediate signal",
        async () => (await hub.client.readEntityState(id)).entityExists,
      );
      assert.equal((await hub.client.readEntityState(id)).entityState, 10);
      const total = await eventually("the scheduled signal", async () => {
        const s = await hub.client.readEntityState<number>(id);
        return s.entityState === 11 ? s.entityState : undefined;
      });
      assert.ok(Date.now() >= at.getTime(), "not applied before its time");
      assert.equal(total, 11);
    });

    test("a scheduled signal wakes an idle entity worker at its time, and nothing is leased before", async () => {
      const store = env.store();
      const entityLeases: number[] = [];
      const lease = store.leaseOrchestrations.bind(store);
      store.leaseOrchestrations = (hubName, worker, names, leaseMs, options) => {
        if (names.some((name) => name.startsWith("@"))) entityLeases.push(Date.now());
        return lease(hubName, worker, names, leaseMs, options);
      };
      const hub = await entityHub(env.hub({ store, maxIdleMs: 60_000 }));
      // Idle polls back off from 20 ms: after 1.5 s the loop is in a sleep that ends after 2.5 s.
      await new Promise((r) => setTimeout(r, 1_500));
      const id = new EntityId("Counter", "woken");
      const signalled = Date.now();
      const at = new Date(signalled + 500);
      await hub.client.signalEntity(id, "add", 5, { signalTime: at });
      await eventually(
        "the scheduled signal",
        async () => (await hub.client.readEntityState(id)).entityExists,
      );
      const early = entityLeases
        .filter((t) => t >= signalled && t < at.getTime() - 50)
        .map((t) => t - signalled);
      assert.deepStrictEqual(
        early,
        [],
        "no entity lease between the signal and its time (ms after the signal)",
      );
    });

    test("destructOnExit deletes the state; cleanEntityStorage then removes the empty entity", async () => {
      const hub = await entityHub(env.hub());
      const id = new EntityId("List", "temp");
      await hub.client.signalEntity(id, "append", "x");
      await eventually(
        "the entity to exist",
        async () => (await hub.client.readEntityState(id)).entityExists,
      );
      await hub.client.signalEntity(id, "delete");
      await eventually("the deletion", async () => !(await hub.client.readEntityState(id)).entityExists);
      assert.deepEqual((await hub.client.listEntities({ entityName: "list" })).entities, []);
      assert.deepEqual(await hub.client.cleanEntityStorage(), {
        emptyEntitiesRemoved: 1,
        orphanedLocksReleased: 0,
      });
      assert.deepEqual((await hub.client.listEntities({ includeTransient: true })).entities, []);
      // An entity signalled again after removal starts afresh.
      await hub.client.signalEntity(id, "append", "again");
      assert.deepEqual(await eventually("the new entity", () => listState(hub, "temp")), ["again"]);
    });

    test("isNewlyConstructed is true only for an operation that found no state", async () => {
      const hub = await entityHub(env.hub());
      const instanceId = await hub.client.startNew("Fresh", { instanceId: "fresh" });
      const done = await hub.client.waitForCompletion(instanceId, { timeoutMs: 10_000 });
      assert.deepEqual(done.output, [true, false]);
    });

    test("listEntities filters by name and key prefix, pages, and includes state on request", async () => {
      const hub = await entityHub(env.hub());
      for (const key of ["a1", "a2", "a3", "b1"])
        await hub.client.signalEntity(new EntityId("Counter", key), "add", 1);
      await hub.client.signalEntity(new EntityId("List", "a9"), "append", "z");
      await eventually("all five entities", async () => {
        const all = await hub.client.listEntities();
        return all.entities.length === 5;
      });
      const first = await hub.client.listEntities({ entityName: "COUNTER", keyPrefix: "a", pageSize: 2 });
      assert.equal(first.entities.length, 2);
      assert.ok(first.continuationToken);
      const second = await hub.client.listEntities({
        entityName: "Counter",
        keyPrefix: "a",
        pageSize: 2,
        continuationToken: first.continuationToken,
      });
      const keys = [...first.entities, ...second.entities].map((e) => e.id.key).sort();
      assert.deepEqual(keys, ["a1", "a2", "a3"]);
      assert.equal(first.entities[0]!.state, undefined);
      const withState = await hub.client.listEntities({ entityName: "List", includeState: true });
      assert.deepEqual(
        withState.entities.map((e) => [e.id.toString(), e.state, e.backlogQueueSize, e.lockedBy]),
        [["@list@a9", ["z"], 0, undefined]],
      );
      // Entities never appear among orchestration instances.
      assert.deepEqual(await hub.client.getStatusAll(), []);
    });

    test("bad input is refused with a clear error and changes nothing", async () => {
      const hub = await entityHub(env.hub());
      const c = hub.client;
      await rejectsWithCode(c.signalEntity("counter@x", "add"), "INVALID_ARGUMENT");
      await rejectsWithCode(c.signalEntity("@counter", "add"), "INVALID_ARGUMENT");
      await rejectsWithCode(c.signalEntity(new EntityId("Nope", "x"), "add"), "ENTITY_NOT_FOUND");
      await rejectsWithCode(c.signalEntity(new EntityId("Counter", "x"), ""), "INVALID_ARGUMENT");
      await rejectsWithCode(
        c.signalEntity(new EntityId("Counter", "x"), "add", () => 1),
        "PAYLOAD_NOT_SERIALIZABLE",
      );
      await rejectsWithCode(
        c.signalEntity(new EntityId("Counter", "x"), "add", 1, { signalTime: new Date("x") }),
        "INVALID_ARGUMENT",
      );
      await rejectsWithCode(() => new EntityId("a@b", "k"), "INVALID_ARGUMENT");
      await rejectsWithCode(c.listEntities({ keyPrefix: "a" }), "INVALID_ARGUMENT");
      await rejectsWithCode(c.listEntities({ pageSize: 0 }), "INVALID_ARGUMENT");
      await rejectsWithCode(c.readEntityState("not-an-entity"), "INVALID_ARGUMENT");
      await rejectsWithCode(c.startNew("Report", { instanceId: "@counter@x" }), "INVALID_ARGUMENT");
      await rejectsWithCode(c.startNew("@counter"), "INVALID_ARGUMENT"); // '@' names are entities'

      await rejectsWithCode(c.getStatus("@counter@x"), "INVALID_ARGUMENT");
      await rejectsWithCode(c.raiseEvent("@counter@x", "go"), "INVALID_ARGUMENT");
      assert.deepEqual((await c.listEntities({ includeTransient: true })).entities, []);
      assert.deepEqual(await c.getStatusAll(), []);
    });
  });
}
