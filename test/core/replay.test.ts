/** Replay basics: chaining, both yield styles, replay flags, deterministic APIs, lifecycle events. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogLevel } from "../../src/core/context.js";
import type { ActivityRef } from "../../src/core/refs.js";
import type { OrchestratorFunction } from "../../src/core/replay.js";
import {
  type Case,
  completion,
  hb,
  INSTANCE,
  immediate,
  j,
  type Orchestrator,
  run,
  runCase,
  START,
} from "./util.js";

const CITIES = ["Tokyo", "Seattle", "London"];
const sayHello: ActivityRef<string, string> = { kind: "activity", name: "SayHello" };

/** DF style: `yield task`, untyped result. */
const chainUntyped: Orchestrator = function* (ctx) {
  const out: unknown[] = [];
  for (const city of CITIES) out.push(yield ctx.callActivity("SayHello", city));
  return out;
};

/** Typed style: `yield* task` through an ActivityRef. */
const chainTyped: Orchestrator = function* (ctx) {
  const out: string[] = [];
  for (const city of CITIES) {
    const greeting: string = yield* ctx.callActivity(sayHello, city);
    out.push(greeting);
  }
  return out;
};

function chainCases(style: string, orchestrator: Orchestrator): Case[] {
  const step1 = () => hb().step().started().taskScheduled(0, "SayHello", "Tokyo");
  const step2 = () => step1().step().taskCompleted(0, "Hello Tokyo").taskScheduled(1, "SayHello", "Seattle");
  const step3 = () => step2().step().taskCompleted(1, "Hello Seattle").taskScheduled(2, "SayHello", "London");
  return [
    {
      name: `${style}: the first step schedules only the first activity`,
      orchestrator,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [{ kind: "ScheduleTask", id: 0, name: "SayHello", input: j("Tokyo") }],
        completion: "none",
      },
    },
    {
      name: `${style}: a completed activity schedules the next one with the next sequence number`,
      orchestrator,
      past: step1().events(),
      fresh: hb().step().taskCompleted(0, "Hello Tokyo").events(),
      expect: {
        actions: [{ kind: "ScheduleTask", id: 1, name: "SayHello", input: j("Seattle") }],
        completion: "none",
      },
    },
    {
      name: `${style}: replaying a 3-step history produces only the next action`,
      orchestrator,
      past: step2().events(),
      fresh: hb().step().taskCompleted(1, "Hello Seattle").events(),
      expect: {
        actions: [{ kind: "ScheduleTask", id: 2, name: "SayHello", input: j("London") }],
        completion: "none",
      },
    },
    {
      name: `${style}: replay without new completions re-emits nothing`,
      orchestrator,
      past: step3().events(),
      fresh: hb().step().events(),
      expect: { actions: [], completion: "none" },
    },
    {
      name: `${style}: the last result completes the orchestration with every output`,
      orchestrator,
      past: step3().events(),
      fresh: hb().step().taskCompleted(2, "Hello London").events(),
      expect: {
        actions: [],
        completion: {
          kind: "CompleteOrchestration",
          id: 3,
          status: "Completed",
          result: j(CITIES.map((c) => `Hello ${c}`)),
        },
      },
    },
  ];
}

describe("function chaining", () => {
  for (const c of [...chainCases("yield", chainUntyped), ...chainCases("yield*", chainTyped)]) runCase(c);

  test("ctx.df is the context and getInput returns the input", () => {
    const fn: Orchestrator = immediate((ctx) => {
      return [ctx.df === ctx, ctx.getInput<{ n: number }>().n, ctx.name, ctx.instanceId];
    });
    const result = run(
      fn,
      [],
      hb({ input: { n: 7 } })
        .step()
        .started()
        .events(),
    );
    assert.equal(completion(result, "Completed").result, j([true, 7, "Orch", INSTANCE]));
  });
});

describe("replay flags and replay-safe logging", () => {
  function observed() {
    const replaying: boolean[] = [];
    const logs: { level: LogLevel; instanceId: string; args: unknown[] }[] = [];
    const fn: Orchestrator = function* (ctx) {
      replaying.push(ctx.isReplaying);
      ctx.log.info("start", 1);
      yield ctx.callActivity("A");
      replaying.push(ctx.isReplaying);
      ctx.log.warn("after A");
      yield ctx.callActivity("B");
      replaying.push(ctx.isReplaying);
      ctx.log.error("after B");
      return "done";
    };
    const logSink = (level: LogLevel, instanceId: string, args: unknown[]) =>
      logs.push({ level, instanceId, args });
    return { fn, replaying, logs, logSink };
  }

  test("isReplaying is true for recorded events and false for new ones; logs only when not replaying", () => {
    const o = observed();
    const past = hb().step().started().taskScheduled(0, "A").step().taskCompleted(0).taskScheduled(1, "B");
    const result = run(o.fn, past.events(), hb().step().taskCompleted(1).events(), { logSink: o.logSink });
    completion(result, "Completed");
    assert.deepEqual(o.replaying, [true, true, false]);
    assert.deepEqual(o.logs, [{ level: "error", instanceId: INSTANCE, args: ["after B"] }]);
  });

  test("the first step is not a replay and logs every line", () => {
    const o = observed();
    run(o.fn, [], hb().step().started().events(), { logSink: o.logSink });
    assert.deepEqual(o.replaying, [false]);
    assert.deepEqual(o.logs, [{ level: "info", instanceId: INSTANCE, args: ["start", 1] }]);
  });
});

describe("deterministic context APIs", () => {
  test("currentUtcDateTime is the OrchestratorStarted time of the step being executed", () => {
    const seen: string[] = [];
    const fn: Orchestrator = function* (ctx) {
      seen.push(ctx.currentUtcDateTime.toISOString());
      yield ctx.callActivity("A");
      seen.push(ctx.currentUtcDateTime.toISOString());
      yield ctx.callActivity("B");
      seen.push(ctx.currentUtcDateTime.toISOString());
    };
    const later = new Date("2024-03-05T10:00:00.000Z");
    const past = hb().step().started().taskScheduled(0, "A").step().taskCompleted(0).taskScheduled(1, "B");
    run(fn, past.events(), hb().step(later).taskCompleted(1).events());
    assert.deepEqual(seen, [START.toISOString(), "2024-01-01T00:00:01.000Z", later.toISOString()]);
  });

  test("newGuid is stable across replays, distinct within a run and a valid UUID", () => {
    const guids: string[][] = [];
    const fn: Orchestrator = function* (ctx) {
      const mine = [ctx.newGuid(), ctx.newGuid()];
      guids.push(mine);
      yield ctx.callActivity("A");
      mine.push(ctx.newGuid());
    };
    run(fn, [], hb().step().started().events());
    run(fn, hb().step().started().taskScheduled(0, "A").events(), hb().step().taskCompleted(0).events());
    const [first, second] = guids as [string[], string[]];
    assert.deepEqual(second.slice(0, 2), first);
    assert.equal(new Set(second).size, 3);
    for (const g of second)
      assert.match(g, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("newGuid differs between instances", () => {
    const fn: Orchestrator = immediate((ctx) => {
      return ctx.newGuid();
    });
    const a = run(fn, [], hb().step().started().events()).completion?.result;
    const b = run(fn, [], hb({ instanceId: "other" }).step().started().events(), { instanceId: "other" })
      .completion?.result;
    assert.ok(a && b);
    assert.notEqual(a, b);
  });

  test("custom status is the last value set, including values set while replaying", () => {
    const fn: Orchestrator = function* (ctx) {
      ctx.setCustomStatus({ stage: 1 });
      yield ctx.callActivity("A");
      yield ctx.callActivity("B");
      ctx.setCustomStatus({ stage: 2 });
    };
    const step1 = hb().step().started().taskScheduled(0, "A");
    const waiting = run(fn, step1.events(), hb().step().events());
    assert.equal(waiting.customStatus, j({ stage: 1 }));
    const past = step1.step().taskCompleted(0).taskScheduled(1, "B");
    const done = run(fn, past.events(), hb().step().taskCompleted(1).events());
    assert.equal(done.customStatus, j({ stage: 2 }));
  });
});

const waitThenContinue = (preserve: boolean | undefined): OrchestratorFunction =>
  function* (ctx) {
    const n = ctx.getInput<number>();
    yield ctx.waitForExternalEvent("go");
    ctx.continueAsNew(n + 1, preserve === undefined ? undefined : { preserveUnprocessedEvents: preserve });
    return "ignored";
  };

describe("continueAsNew", () => {
  const cases: Case[] = [
    {
      name: "completes as ContinuedAsNew with the new input and no result",
      orchestrator: immediate((ctx) => {
        ctx.continueAsNew({ round: 2 });
        return "ignored";
      }),
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [],
        completion: {
          kind: "CompleteOrchestration",
          id: 0,
          status: "ContinuedAsNew",
          newInput: j({ round: 2 }),
        },
        check: (r) => assert.equal(r.completion?.result, undefined),
      },
    },
    {
      name: "preserveUnprocessedEvents carries unconsumed events in arrival order",
      orchestrator: waitThenContinue(true),
      past: hb({ input: 1 }).step().started().events(),
      fresh: hb()
        .step()
        .eventRaised("x", 1)
        .eventRaised("y", 2)
        .eventRaised("go")
        .eventRaised("x", 3)
        .events(),
      expect: {
        completion: { status: "ContinuedAsNew", newInput: j(2) },
        check: (r) =>
          assert.deepEqual(
            r.completion?.carryoverEvents?.map((e) => [e.name, e.input]),
            [
              ["x", j(1)],
              ["y", j(2)],
              ["x", j(3)],
            ],
          ),
      },
    },
    {
      name: "without preserveUnprocessedEvents unconsumed events are dropped",
      orchestrator: waitThenContinue(undefined),
      past: hb({ input: 1 }).step().started().events(),
      fresh: hb().step().eventRaised("x", 1).eventRaised("go").events(),
      expect: {
        completion: { status: "ContinuedAsNew", newInput: j(2) },
        check: (r) => assert.equal(r.completion?.carryoverEvents, undefined),
      },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("suspend, resume and terminate", () => {
  const twoSteps: Orchestrator = function* (ctx) {
    const a = yield ctx.callActivity("A");
    const b = yield ctx.callActivity("B", a);
    return b;
  };
  const scheduled = () => hb().step().started().taskScheduled(0, "A");
  const cases: Case[] = [
    {
      name: "a result arriving while suspended does not advance the code",
      orchestrator: twoSteps,
      past: scheduled().events(),
      fresh: hb().step().suspended("maintenance").taskCompleted(0, "a").events(),
      expect: { actions: [], completion: "none", check: (r) => assert.equal(r.suspended, true) },
    },
    {
      name: "ExecutionResumed delivers the deferred result",
      orchestrator: twoSteps,
      past: scheduled().step().suspended().taskCompleted(0, "a").events(),
      fresh: hb().step().resumed().events(),
      expect: {
        actions: [{ kind: "ScheduleTask", id: 1, name: "B", input: j("a") }],
        completion: "none",
        check: (r) => assert.equal(r.suspended, false),
      },
    },
    {
      name: "suspend and resume in one batch keep event order",
      orchestrator: twoSteps,
      past: scheduled().events(),
      fresh: hb().step().suspended().taskCompleted(0, "a").resumed().events(),
      expect: { actions: [{ kind: "ScheduleTask", id: 1, name: "B", input: j("a") }], completion: "none" },
    },
    {
      name: "raised events wait while suspended",
      orchestrator: function* (ctx) {
        return yield ctx.waitForExternalEvent("go");
      },
      past: hb().step().started().suspended().events(),
      fresh: hb().step().eventRaised("go", 1).events(),
      expect: { completion: "none", check: (r) => assert.equal(r.suspended, true) },
    },
    {
      name: "terminate completes as Terminated with the reason as output and no other actions",
      orchestrator: twoSteps,
      past: scheduled().events(),
      fresh: hb().step().taskCompleted(0, "a").terminated("operator said stop").events(),
      expect: {
        actions: [],
        completion: { kind: "CompleteOrchestration", status: "Terminated", result: j("operator said stop") },
        check: (r) => assert.equal(r.actions.length, 1),
      },
    },
    {
      name: "terminate works while suspended and ignores later events",
      orchestrator: twoSteps,
      past: scheduled().step().suspended().events(),
      fresh: hb().step().terminated("bye").resumed().taskCompleted(0, "a").events(),
      expect: { actions: [], completion: { status: "Terminated", result: j("bye") } },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("sub-orchestrations", () => {
  const child: Orchestrator = function* (ctx) {
    yield ctx.callActivity("Prepare");
    const out = yield ctx.callSubOrchestrator("Child", { x: 1 });
    const named = yield ctx.callSubOrchestrator("Child", null, "explicit-id");
    return [out, named];
  };
  const prepared = () => hb().step().started().taskScheduled(0, "Prepare").step().taskCompleted(0);
  const cases: Case[] = [
    {
      name: "the default child ID is <parent ID>:<sequence number>",
      orchestrator: child,
      past: hb().step().started().taskScheduled(0, "Prepare").events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: {
        actions: [
          {
            kind: "CreateSubOrchestration",
            id: 1,
            name: "Child",
            instanceId: `${INSTANCE}:1`,
            input: j({ x: 1 }),
          },
        ],
      },
    },
    {
      name: "the default child ID matches on replay and an explicit ID is used as given",
      orchestrator: child,
      past: prepared().subStarted(1, "Child", `${INSTANCE}:1`, { x: 1 }).events(),
      fresh: hb().step().subCompleted(1, "child-out").events(),
      expect: {
        actions: [
          { kind: "CreateSubOrchestration", id: 2, name: "Child", instanceId: "explicit-id", input: "null" },
        ],
        completion: "none",
      },
    },
    {
      name: "child results become the task results",
      orchestrator: child,
      past: prepared()
        .subStarted(1, "Child", `${INSTANCE}:1`, { x: 1 })
        .step()
        .subCompleted(1, "a")
        .subStarted(2, "Child", "explicit-id", null)
        .events(),
      fresh: hb().step().subCompleted(2, { b: true }).events(),
      expect: { completion: { status: "Completed", result: j(["a", { b: true }]) } },
    },
    {
      name: "a failed child surfaces as TaskFailedError naming the sub-orchestration",
      orchestrator: function* (ctx) {
        try {
          yield ctx.callSubOrchestrator("Child");
          return "unreachable";
        } catch (err) {
          const e = err as { code: string; message: string; details: { message: string }; taskId: number };
          return [e.code, e.message, e.details.message, e.taskId];
        }
      },
      past: hb().step().started().subStarted(0, "Child", `${INSTANCE}:0`).events(),
      fresh: hb().step().subFailed(0, new RangeError("too big")).events(),
      expect: {
        completion: {
          status: "Completed",
          result: j(["TASK_FAILED", "sub-orchestration 'Child' failed: RangeError: too big", "too big", 0]),
        },
      },
    },
    {
      name: "callSubOrchestratorWithRetry gives each attempt its own deterministic ID",
      orchestrator: function* (ctx) {
        return yield ctx.callSubOrchestratorWithRetry("Child", {
          firstRetryIntervalMs: 1000,
          maxNumberOfAttempts: 2,
        });
      },
      past: hb()
        .step()
        .started()
        .subStarted(0, "Child", `${INSTANCE}:0`)
        .step()
        .subFailed(0, "boom")
        .timerCreated(1, new Date(START.getTime() + 2000))
        .events(),
      fresh: hb()
        .step()
        .timerFired(1, new Date(START.getTime() + 2000))
        .events(),
      expect: {
        actions: [{ kind: "CreateSubOrchestration", id: 2, name: "Child", instanceId: `${INSTANCE}:2` }],
      },
    },
  ];
  for (const c of cases) runCase(c);
});
