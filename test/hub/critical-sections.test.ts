/**
 * Critical sections end to end on every store: mutual exclusion over overlapping lock sets
 * without deadlock, operations of others queued behind a held lock, locks released when the
 * holder fails, is terminated or continues as new, the locking rules, and orphaned locks released
 * by cleanEntityStorage.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntityId } from "../../src/core/entity-id.js";
import { type EntityLockRequestedEvent, makeEvent } from "../../src/core/events.js";
import type { TaskHub } from "../../src/hub.js";
import { eventually, STORE_KINDS, sleep, statusBecomes, storeSuiteOptions, useHubEnv } from "./fixtures.js";

const account = (key: string) => new EntityId("Account", key);

/** Accounts (balance 100 each), transfers and lock-holding orchestrations; starts the hub. */
async function bankHub(hub: TaskHub): Promise<TaskHub> {
  hub.entity<number>("Account", (ctx) => {
    if (ctx.operationName === "get") return ctx.getState(() => 100);
    if (ctx.operationName === "set") ctx.setState(ctx.getInput<number>());
    else if (ctx.operationName === "add") ctx.setState(ctx.getState(() => 100) + ctx.getInput<number>());
  });
  hub.orchestrator("Transfer", function* (ctx) {
    const { from, to, amount } = ctx.getInput<{ from: string; to: string; amount: number }>();
    const lock = yield* ctx.lock([account(from), account(to)]);
    const [a, b] = yield* ctx.Task.all([
      ctx.callEntity<number>(account(from), "get"),
      ctx.callEntity<number>(account(to), "get"),
    ]);
    yield ctx.Task.all([
      ctx.callEntity(account(from), "set", a - amount),
      ctx.callEntity(account(to), "set", b + amount),
    ]);
    lock.release();
    return ctx.isLocked().isLocked;
  });
  hub.orchestrator("HoldLock", function* (ctx) {
    const keys = ctx.getInput<string[]>();
    yield ctx.lock(keys.map(account));
    const owned = ctx.isLocked().ownedLocks.map(String);
    ctx.setCustomStatus({ owned });
    const next = yield ctx.waitForExternalEvent<string>("next");
    if (next === "fail") throw new Error("failing while holding the lock");
    if (next === "continue") ctx.continueAsNew(["unlocked-key"]);
    return owned;
  });
  hub.orchestrator("Violate", function* (ctx) {
    const rule = ctx.getInput<string>();
    const lock = yield* ctx.lock([account("r1")]);
    try {
      if (rule === "nest") yield ctx.lock([account("r2")]);
      if (rule === "call-unlocked") yield ctx.callEntity(account("r2"), "get");
      if (rule === "parallel")
        yield ctx.Task.all([ctx.callEntity(account("r1"), "get"), ctx.callEntity(account("r1"), "get")]);
      if (rule === "signal-locked") ctx.signalEntity(account("r1"), "add", 1);
      if (rule === "sub-orchestration")
        yield ctx.callSubOrchestrator("Transfer", { from: "r1", to: "r2", amount: 1 });
    } catch (err) {
      lock.release();
      return (err as { code?: string }).code;
    }
    return "no violation";
  });
  hub.orchestrator("Uncaught", function* (ctx) {
    yield ctx.lock([account("u1")]);
    yield ctx.lock([account("u2")]);
  });
  await hub.start();
  return hub;
}

async function balances(hub: TaskHub, keys: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const key of keys) {
    const { entityExists, entityState } = await hub.client.readEntityState<number>(account(key));
    out.push(entityExists ? entityState! : 100);
  }
  return out;
}

/** Starts a lock holder and waits until it holds its locks. */
async function holdLock(hub: TaskHub, instanceId: string, keys: string[]): Promise<void> {
  await hub.client.startNew("HoldLock", { instanceId, input: keys });
  await eventually(
    `${instanceId} to hold its lock`,
    async () => (await hub.client.getStatus(instanceId))?.customStatus,
  );
}

/** Runs a transfer and returns its final status. */
async function transfer(hub: TaskHub, from: string, to: string, amount: number) {
  const id = await hub.client.startNew("Transfer", { input: { from, to, amount } });
  return hub.client.waitForCompletion(id, { timeoutMs: 20_000 });
}

for (const kind of STORE_KINDS) {
  describe(`critical sections (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("20 concurrent transfers over overlapping pairs of 5 accounts keep the total and all finish", async () => {
      const hub = await bankHub(env.hub());
      const keys = ["a0", "a1", "a2", "a3", "a4"];
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const from = keys[i % 5]!;
        const to = keys[(i + 1 + (i % 4)) % 5]!;
        // Half the transfers name their accounts in the opposite order: locks are taken in one global order anyway.
        const input = i % 2 === 0 ? { from, to, amount: i + 1 } : { from: to, to: from, amount: -(i + 1) };
        ids.push(await hub.client.startNew("Transfer", { input }));
      }
      for (const id of ids) {
        const done = await hub.client.waitForCompletion(id, { timeoutMs: 60_000 });
        assert.equal(done.runtimeStatus, "Completed", JSON.stringify(done.failureDetails));
        assert.equal(done.output, false, "the lock is released before the orchestration returns");
      }
      const final = await balances(hub, keys);
      assert.equal(
        final.reduce((a, b) => a + b, 0),
        500,
      );
      // Net flows: every transfer moved i+1 from `from` to `to`.
      const expected = new Map(keys.map((k) => [k, 100]));
      for (let i = 0; i < 20; i++) {
        const from = keys[i % 5]!;
        const to = keys[(i + 1 + (i % 4)) % 5]!;
        expected.set(from, expected.get(from)! - (i + 1));
        expected.set(to, expected.get(to)! + (i + 1));
      }
      assert.deepEqual(
        final,
        keys.map((k) => expected.get(k)),
      );
    });

    test("while a lock is held, other callers' operations wait behind it and then run in order", async () => {
      const hub = await bankHub(env.hub());
      await holdLock(hub, "holder", ["q1"]);
      assert.deepEqual((await hub.client.getStatus("holder"))?.customStatus, { owned: ["@account@q1"] });
      await hub.client.signalEntity(account("q1"), "add", 5);
      await hub.client.signalEntity(account("q1"), "set", 1);
      const t = hub.client.startNew("Transfer", { input: { from: "q1", to: "q2", amount: 1 } });
      const transferId = await t;
      await sleep(300);
      assert.equal(
        (await hub.client.readEntityState(account("q1"))).entityExists,
        false,
        "nothing ran meanwhile",
      );
      const listed = await hub.client.listEntities({ entityName: "Account", includeTransient: true });
      const q1 = listed.entities.find((e) => e.id.key === "q1");
      assert.equal(q1?.lockedBy, "holder");
      assert.equal(q1?.backlogQueueSize, 3, "two signals and a lock request wait");
      await hub.client.raiseEvent("holder", "next", "done");
      await hub.client.waitForCompletion("holder", { timeoutMs: 10_000 });
      const done = await hub.client.waitForCompletion(transferId, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.deepEqual(
        await balances(hub, ["q1", "q2"]),
        [0, 101],
        "add 5, then set 1, then the transfer of 1",
      );
    });

    test("a lock is released when its holder fails, and a later lock succeeds", async () => {
      const hub = await bankHub(env.hub());
      await holdLock(hub, "failing", ["f1", "f2"]);
      await hub.client.raiseEvent("failing", "next", "fail");
      const failed = await hub.client.waitForCompletion("failing", { timeoutMs: 10_000 });
      assert.equal(failed.runtimeStatus, "Failed");
      const done = await transfer(hub, "f1", "f2", 10);
      assert.equal(done.runtimeStatus, "Completed");
      assert.deepEqual(await balances(hub, ["f1", "f2"]), [90, 110]);
    });

    test("a lock is released when its holder is terminated, and a later lock succeeds", async () => {
      const hub = await bankHub(env.hub());
      await holdLock(hub, "terminated", ["t1"]);
      await hub.client.terminate("terminated", "stop");
      await statusBecomes(hub.client, "terminated", "Terminated");
      const done = await transfer(hub, "t1", "t2", 10);
      assert.equal(done.runtimeStatus, "Completed");
    });

    test("a lock is released when its holder continues as new", async () => {
      const hub = await bankHub(env.hub());
      await holdLock(hub, "eternal", ["c1"]);
      await hub.client.raiseEvent("eternal", "next", "continue");
      const done = await transfer(hub, "c1", "c2", 10);
      assert.equal(done.runtimeStatus, "Completed");
      await hub.client.terminate("eternal");
    });

    test("a lock request waiting while its requester fails is released when it is finally granted", async () => {
      const hub = await bankHub(env.hub());
      await holdLock(hub, "first", ["w1"]);
      await hub.client.startNew("HoldLock", { instanceId: "second", input: ["w1", "w2"] });
      await sleep(200);
      await hub.client.terminate("second", "gave up waiting");
      await statusBecomes(hub.client, "second", "Terminated");
      await hub.client.raiseEvent("first", "next", "done");
      const done = await transfer(hub, "w2", "w1", 5);
      assert.equal(done.runtimeStatus, "Completed", "w1 and w2 were released after the late grant");
    });

    for (const rule of ["nest", "call-unlocked", "parallel", "signal-locked", "sub-orchestration"]) {
      test(`breaking a locking rule (${rule}) throws LOCKING_RULES_VIOLATION inside the orchestration`, async () => {
        const hub = await bankHub(env.hub());
        const id = await hub.client.startNew("Violate", { input: rule });
        const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
        assert.equal(done.output, "LOCKING_RULES_VIOLATION");
        assert.equal(
          (await transfer(hub, "r1", "r2", 1)).runtimeStatus,
          "Completed",
          "the lock was released",
        );
      });
    }

    test("an uncaught violation fails the orchestration with its code and releases the lock", async () => {
      const hub = await bankHub(env.hub());
      const id = await hub.client.startNew("Uncaught");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Failed");
      assert.equal(done.failureDetails?.code, "LOCKING_RULES_VIOLATION");
      assert.match(done.failureDetails?.message ?? "", /cannot be nested/);
      assert.equal((await transfer(hub, "u1", "u2", 1)).runtimeStatus, "Completed");
    });

    test("cleanEntityStorage releases a lock whose holder no longer exists", async () => {
      const hub = await bankHub(env.hub());
      // A lock request from an instance that does not exist: the entity locks for it and waits forever.
      const ghost = makeEvent<EntityLockRequestedEvent>(new Date(), {
        kind: "EntityLockRequested",
        criticalSectionId: "ghost-section",
        lockSet: ["@account@o1"],
        position: 0,
        parentInstanceId: "ghost",
        parentExecutionId: "ghost-exec",
      });
      await hub.store.appendMessage(hub.name, {
        instanceId: "@account@o1",
        event: ghost,
        visibleAt: Date.now(),
        ensureTarget: { name: "@account", executionId: "entity" },
      });
      await eventually("the ghost's lock", async () => {
        const [e] = (await hub.client.listEntities({ includeTransient: true })).entities;
        return e?.lockedBy === "ghost";
      });
      assert.deepEqual(await hub.client.cleanEntityStorage({ removeEmptyEntities: false }), {
        emptyEntitiesRemoved: 0,
        orphanedLocksReleased: 1,
      });
      assert.equal((await transfer(hub, "o1", "o2", 1)).runtimeStatus, "Completed");
      // The transfer's own releases are messages still on their way when it completes.
      await eventually("every lock to be released", async () => {
        const { entities } = await hub.client.listEntities({ includeTransient: true });
        return entities.every((e) => e.lockedBy === undefined);
      });
      assert.deepEqual(await hub.client.cleanEntityStorage(), {
        emptyEntitiesRemoved: 0,
        orphanedLocksReleased: 0,
      });
    });
  });
}
