/**
 * Entities from the orchestration's side, table-driven over histories: the actions callEntity,
 * signalEntity and lock record, how responses and grants resolve them on replay, the locking
 * rules, and the messages a step sends (requests that create their entity, releases owed at the
 * end of the execution and for grants nobody waits for).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LockHandle } from "../../src/core/critical-section.js";
import { EntityId } from "../../src/core/entity-id.js";
import type { NameRegistry } from "../../src/core/refs.js";
import { rewindHistory } from "../../src/core/rewind.js";
import {
  type Case,
  EXEC,
  failure,
  hb,
  INSTANCE,
  immediate,
  inbox,
  j,
  kinds,
  NOW,
  type Orchestrator,
  plain,
  run,
  runCase,
  step,
} from "./util.js";

const A = "@account@a";
const B = "@account@b";
const account = (key: string) => new EntityId("Account", key);
const h0 = () => hb();
const requestId = (id: number) => h0().requestId(id);

const callTwice: Orchestrator = function* (ctx) {
  const first = yield ctx.callEntity(account("a"), "add", 1);
  const second = yield ctx.callEntity("@account@a", "get");
  return [first, second];
};

const transfer: Orchestrator = function* (ctx) {
  const lock = (yield ctx.lock([account("b"), account("a"), account("b")])) as LockHandle;
  const state = ctx.isLocked();
  const [x, y] = (yield ctx.Task.all([ctx.callEntity(A, "get"), ctx.callEntity(B, "get")])) as number[];
  lock.release();
  return { owned: state.ownedLocks.map(String), sum: x! + y!, after: ctx.isLocked().isLocked };
};

const holdAndWait: Orchestrator = function* (ctx) {
  yield ctx.lock([A, B]);
  yield ctx.waitForExternalEvent("go");
  return "done";
};

describe("entity calls and signals", () => {
  const cases: Case[] = [
    {
      name: "callEntity records CallEntity with a deterministic request ID and waits",
      orchestrator: callTwice,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [
          { kind: "CallEntity", id: 0, requestId: requestId(0), entityId: A, operation: "add", input: j(1) },
        ],
        completion: "none",
      },
    },
    {
      name: "the response resolves the call; the next call follows",
      orchestrator: callTwice,
      past: hb().step().started().entityCalled(0, A, "add", 1).events(),
      fresh: hb().step().entityCompleted(0, 11).events(),
      expect: {
        actions: [{ kind: "CallEntity", id: 1, requestId: requestId(1), entityId: A, operation: "get" }],
      },
    },
    {
      name: "a full replay completes with both results",
      orchestrator: callTwice,
      past: hb()
        .step()
        .started()
        .entityCalled(0, A, "add", 1)
        .step()
        .entityCompleted(0, 11)
        .entityCalled(1, A, "get")
        .events(),
      fresh: hb().step().entityCompleted(1, 12).events(),
      expect: { completion: { status: "Completed", result: j([11, 12]) } },
    },
    {
      name: "a failed operation throws TaskFailedError with the entity's error details",
      orchestrator: function* (ctx) {
        try {
          yield ctx.callEntity(A, "withdraw", 500);
        } catch (err) {
          const e = err as { code: string; message: string; details: { name: string; properties?: unknown } };
          return [e.code, e.message, e.details.name, e.details.properties];
        }
      },
      past: hb().step().started().entityCalled(0, A, "withdraw", 500).events(),
      fresh: hb()
        .step()
        .entityFailed(0, Object.assign(new RangeError("insufficient funds"), { balance: 3 }))
        .events(),
      expect: {
        completion: {
          status: "Completed",
          result: j([
            "TASK_FAILED",
            "operation 'withdraw' of entity '@account@a' failed: RangeError: insufficient funds",
            "RangeError",
            { balance: 3 },
          ]),
        },
      },
    },
    {
      name: "an uncaught entity failure fails the orchestration, keeping the cause",
      orchestrator: callTwice,
      past: hb().step().started().entityCalled(0, A, "add", 1).events(),
      fresh: hb().step().entityFailed(0, new Error("nope")).events(),
      expect: { check: (r) => assert.equal(failure(r).cause?.message, "nope") },
    },
    {
      name: "signalEntity records SignalEntity (scheduled when signalTime is given) and does not wait",
      orchestrator: immediate((ctx) => {
        ctx.signalEntity(A, "add", 1);
        ctx.signalEntity(A, "add", 2, { signalTime: new Date(NOW.getTime() + 5000) });
        return "sent";
      }),
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [
          {
            kind: "SignalEntity",
            id: 0,
            requestId: requestId(0),
            entityId: A,
            operation: "add",
            input: j(1),
          },
          {
            kind: "SignalEntity",
            id: 1,
            requestId: requestId(1),
            entityId: A,
            operation: "add",
            input: j(2),
            scheduledTime: new Date(NOW.getTime() + 5000).toISOString(),
          },
        ],
        completion: { status: "Completed" },
      },
    },
    {
      name: "history that called another operation is a NonDeterminismError naming both",
      orchestrator: callTwice,
      past: hb().step().started().entityCalled(0, A, "deposit", 1).events(),
      fresh: hb().step().entityCompleted(0, 1).events(),
      expect: {
        failureCode: "NON_DETERMINISM",
        check: (r) =>
          assert.match(
            failure(r).message,
            /operation 'deposit' of entity '@account@a' called \(EntityOperationCalled\), but the code now called operation 'add' of entity '@account@a'/,
          ),
      },
    },
    {
      name: "history that signalled another entity is a NonDeterminismError",
      orchestrator: function* (ctx) {
        ctx.signalEntity(B, "add", 1);
        yield ctx.waitForExternalEvent("x");
      },
      past: hb().step().started().entitySignaled(0, A, "add", 1).events(),
      fresh: hb().step().eventRaised("x").events(),
      expect: { failureCode: "NON_DETERMINISM" },
    },
    {
      name: "while suspended, entity responses wait until resume",
      orchestrator: callTwice,
      past: hb().step().started().entityCalled(0, A, "add", 1).suspended().events(),
      fresh: hb().step().entityCompleted(0, 5).events(),
      expect: { actions: [], completion: "none", check: (r) => assert.equal(r.suspended, true) },
    },
  ];
  for (const c of cases) runCase(c);
});

const registry: NameRegistry = {
  activityNames: () => [],
  orchestratorNames: () => ["Child"],
  entityNames: () => ["account"],
};

describe("entity IDs and the registry", () => {
  const attempt = (target: unknown, options = {}) =>
    run(
      function* (ctx) {
        try {
          ctx.callEntity(target as string, "get");
        } catch (err) {
          return (err as { code: string }).code;
        }
        yield ctx.waitForExternalEvent("never");
      },
      [],
      hb().step().started().events(),
      options,
    ).completion?.result;
  test("malformed entity IDs are INVALID_ARGUMENT at the call site", () => {
    for (const bad of ["account", "@account", "", 5, null])
      assert.equal(attempt(bad), j("INVALID_ARGUMENT"), String(bad));
  });
  test("an entity name the hub does not know is ENTITY_NOT_FOUND", () => {
    assert.equal(attempt("@nope@x", { registry }), j("ENTITY_NOT_FOUND"));
    assert.equal(
      attempt("@ACCOUNT@x", { registry }),
      undefined,
      "names are case-insensitive: this call is fine",
    );
  });
});

describe("critical sections", () => {
  const cases: Case[] = [
    {
      name: "lock records LockEntities over the sorted, distinct lock set",
      orchestrator: transfer,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [{ kind: "LockEntities", id: 0, criticalSectionId: requestId(0), lockSet: [A, B] }],
      },
    },
    {
      name: "the grant yields a handle; calls inside go to locked entities; release unlocks each",
      orchestrator: transfer,
      past: hb().step().started().lockRequested(0, [A, B]).events(),
      fresh: hb().step().lockGranted(0, [A, B]).events(),
      expect: {
        actions: [
          { kind: "CallEntity", id: 1, requestId: requestId(1), entityId: A, operation: "get" },
          { kind: "CallEntity", id: 2, requestId: requestId(2), entityId: B, operation: "get" },
        ],
      },
    },
    {
      name: "release records one UnlockEntity per entity and isLocked turns false",
      orchestrator: transfer,
      past: hb()
        .step()
        .started()
        .lockRequested(0, [A, B])
        .step()
        .lockGranted(0, [A, B])
        .entityCalled(1, A, "get")
        .entityCalled(2, B, "get")
        .events(),
      fresh: hb().step().entityCompleted(1, 3).entityCompleted(2, 4).events(),
      expect: {
        actions: [
          { kind: "UnlockEntity", id: 3, criticalSectionId: requestId(0), entityId: A },
          { kind: "UnlockEntity", id: 4, criticalSectionId: requestId(0), entityId: B },
        ],
        completion: { status: "Completed", result: j({ owned: [A, B], sum: 7, after: false }) },
        check: (r) => assert.deepEqual(r.unlocks, [], "released by recorded actions, nothing more owed"),
      },
    },
  ];
  for (const c of cases) runCase(c);

  const rules: [string, Orchestrator, RegExp][] = [
    [
      "nested lock",
      function* (ctx) {
        yield ctx.lock([A]);
        yield ctx.lock([B]);
      },
      /cannot be nested/,
    ],
    [
      "calling an entity that is not locked",
      function* (ctx) {
        yield ctx.lock([A]);
        yield ctx.callEntity(B, "get");
      },
      /only the entities it locked; '@account@b'/,
    ],
    [
      "two calls at once to one locked entity",
      function* (ctx) {
        yield ctx.lock([A]);
        yield ctx.Task.all([ctx.callEntity(A, "get"), ctx.callEntity(A, "get")]);
      },
      /one call at a time/,
    ],
    [
      "signalling a locked entity",
      function* (ctx) {
        yield ctx.lock([A]);
        ctx.signalEntity(A, "add", 1);
      },
      /must not signal entity '@account@a'/,
    ],
    [
      "a sub-orchestration inside the critical section",
      function* (ctx) {
        yield ctx.lock([A]);
        yield ctx.callSubOrchestrator("Child");
      },
      /cannot start sub-orchestration 'Child' inside a critical section/,
    ],
    [
      "calling an entity before the lock is granted",
      function* (ctx) {
        ctx.lock([A]);
        yield ctx.callEntity(A, "get");
      },
      /while a lock is being acquired/,
    ],
  ];
  for (const [name, orchestrator, message] of rules) {
    test(`locking rule: ${name} throws LOCKING_RULES_VIOLATION`, () => {
      const grantedFirst = name.includes("before")
        ? hb().step().started()
        : hb().step().started().lockRequested(0, [A]);
      const fresh = name.includes("before") ? [] : hb().step().lockGranted(0, [A]).events();
      const result = run(orchestrator, grantedFirst.events(), fresh);
      const f = failure(result);
      assert.equal(f.code, "LOCKING_RULES_VIOLATION");
      assert.match(f.message, message);
      if (!name.includes("before")) {
        assert.deepEqual(
          result.unlocks,
          [{ criticalSectionId: requestId(0), entityId: A }],
          "the held lock is owed",
        );
      }
    });
  }

  test("signals to entities outside the lock set are allowed inside it", () => {
    const result = run(
      function* (ctx) {
        yield ctx.lock([A]);
        ctx.signalEntity(B, "add", 1);
        return ctx.isLocked().ownedLocks.map(String);
      },
      hb().step().started().lockRequested(0, [A]).events(),
      hb().step().lockGranted(0, [A]).events(),
    );
    assert.equal(result.completion?.result, j([A]));
    assert.deepEqual(result.unlocks, [{ criticalSectionId: requestId(0), entityId: A }]);
  });

  test("lock needs a non-empty array", () => {
    for (const bad of [[], undefined, "@account@a"]) {
      const result = run(
        function* (ctx) {
          yield ctx.lock(bad as never);
        },
        [],
        hb().step().started().events(),
      );
      assert.equal(failure(result).code, "INVALID_ARGUMENT");
    }
  });
});

describe("runOrchestrationStep: entity messages and releases", () => {
  test("a call becomes EntityOperationCalled plus a request that creates the entity, naming the caller", () => {
    const h = hb();
    const { checkpoint } = step(
      callTwice,
      h.instance({ runtimeStatus: "Pending" }),
      [],
      inbox(h.started().events()),
    );
    assert.deepEqual(kinds(checkpoint.history.events), [
      "OrchestratorStarted",
      "ExecutionStarted",
      "EntityOperationCalled",
    ]);
    assert.deepEqual(plain(checkpoint.messages), [
      {
        instanceId: A,
        visibleAt: NOW.getTime(),
        ensureTarget: { name: "@account", executionId: "entity" },
        event: {
          eventId: -1,
          kind: "EntityOperationCalled",
          requestId: requestId(0),
          operation: "add",
          input: j(1),
          parentInstanceId: INSTANCE,
          parentExecutionId: EXEC,
          timestamp: NOW.toISOString(),
        },
      },
    ]);
  });

  test("a lock request goes to the first entity of the set with the requesting execution", () => {
    const h = hb();
    const { checkpoint } = step(
      transfer,
      h.instance({ runtimeStatus: "Pending" }),
      [],
      inbox(h.started().events()),
    );
    const [request] = checkpoint.messages;
    assert.equal(request?.instanceId, A);
    assert.deepEqual(
      plain(request?.event),
      plain({
        eventId: -1,
        kind: "EntityLockRequested",
        criticalSectionId: requestId(0),
        lockSet: [A, B],
        position: 0,
        parentInstanceId: INSTANCE,
        parentExecutionId: EXEC,
        timestamp: NOW.toISOString(),
      }),
    );
  });

  const unlockTargets = (messages: readonly { instanceId: string; event: { kind: string } }[]) =>
    messages.filter((m) => m.event.kind === "EntityUnlockSent").map((m) => m.instanceId);

  test("terminating a lock holder releases every locked entity", () => {
    const h = hb().step().started().lockRequested(0, [A, B]).step().lockGranted(0, [A, B]);
    const { checkpoint } = step(
      holdAndWait,
      h.instance(),
      h.events(),
      inbox(hb().terminated("stop").events()),
    );
    assert.equal(checkpoint.instance.runtimeStatus, "Terminated");
    assert.deepEqual(unlockTargets(checkpoint.messages), [A, B]);
    assert.ok(
      !kinds(checkpoint.history.events).includes("EntityUnlockSent"),
      "releases at the end are not history",
    );
  });

  test("a release made in the step that is terminated is still sent", () => {
    const releasing: Orchestrator = function* (ctx) {
      const lock = (yield ctx.lock([A])) as LockHandle;
      yield ctx.waitForExternalEvent("release");
      lock.release();
      yield ctx.waitForExternalEvent("never");
    };
    const h = hb().step().started().lockRequested(0, [A]).step().lockGranted(0, [A]);
    const fresh = inbox(hb().eventRaised("release").terminated().events());
    const { checkpoint } = step(releasing, h.instance(), h.events(), fresh);
    assert.equal(checkpoint.instance.runtimeStatus, "Terminated");
    assert.deepEqual(unlockTargets(checkpoint.messages), [A]);
  });

  test("a grant that reaches a finished instance is released", () => {
    const h = hb().step().started().lockRequested(0, [A, B]).failed(1, "boom");
    const grant = inbox(hb().lockGranted(0, [A, B]).events());
    const { checkpoint } = step(holdAndWait, h.instance({ runtimeStatus: "Failed" }), h.events(), grant);
    assert.deepEqual(unlockTargets(checkpoint.messages), [A, B]);
    assert.deepEqual(checkpoint.history.events, []);
  });

  test("a grant for an older execution (continued as new) is released", () => {
    const h = hb().step().started();
    const grant = inbox(hb().lockGranted(0, [A]).events(), "older-exec");
    const { checkpoint } = step(holdAndWait, h.instance(), h.events(), grant);
    assert.deepEqual(unlockTargets(checkpoint.messages), [A]);
  });

  test("a grant the running execution never asked for is released, once", () => {
    const h = hb().step().started().lockRequested(0, [A, B]);
    const stray = hb()
      .add({ kind: "EntityLockGranted", criticalSectionId: "someone-else", lockSet: [B] })
      .events();
    const out = step(holdAndWait, h.instance(), h.events(), inbox(stray));
    assert.deepEqual(unlockTargets(out.checkpoint.messages), [B]);
    const again = run(holdAndWait, [...h.events(), ...out.checkpoint.history.events], []);
    assert.deepEqual(again.unlocks, [], "replaying the recorded stray grant owes nothing more");
  });
});

describe("rewind with entities", () => {
  test("the cut falls at the first failed entity call; calls without a response are dropped", () => {
    const history = hb()
      .step()
      .started()
      .entityCalled(0, A, "add", 1)
      .entityCalled(1, B, "add", 1)
      .step()
      .entityCompleted(0, 1)
      .entityFailed(1, "boom")
      .failed(2, "boom")
      .events();
    assert.deepEqual(kinds(rewindHistory(history)), [
      "OrchestratorStarted",
      "ExecutionStarted",
      "EntityOperationCalled",
      "OrchestratorStarted",
      "EntityOperationCompleted",
    ]);
  });

  test("a critical section open at the failure is cut before its lock request", () => {
    const history = hb()
      .step()
      .started()
      .entitySignaled(0, B, "add", 1)
      .lockRequested(1, [A])
      .step()
      .lockGranted(1, [A])
      .entityCalled(2, A, "get")
      .step()
      .entityFailed(2, "boom")
      .failed(3, "boom")
      .eventRaised("late")
      .events();
    assert.deepEqual(kinds(rewindHistory(history)), [
      "OrchestratorStarted",
      "ExecutionStarted",
      "EntityOperationSignaled",
      "EventRaised",
    ]);
  });

  test("a critical section released before the failure stays in history", () => {
    const history = hb()
      .step()
      .started()
      .lockRequested(0, [A])
      .step()
      .lockGranted(0, [A])
      .unlockSent(1, 0, A)
      .taskScheduled(2, "Act")
      .step()
      .taskFailed(2, "boom")
      .failed(3, "boom")
      .events();
    assert.deepEqual(kinds(rewindHistory(history)), [
      "OrchestratorStarted",
      "ExecutionStarted",
      "EntityLockRequested",
      "OrchestratorStarted",
      "EntityLockGranted",
      "EntityUnlockSent",
      "OrchestratorStarted",
    ]);
  });
});
