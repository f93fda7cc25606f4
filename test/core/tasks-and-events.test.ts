/** Composite tasks, timers, external events and retries. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidArgumentError, InvalidStateError, TaskFailedError } from "../../src/core/errors.js";
import { RetryOptions, type RetryPolicy, retryDelayMs, Task, type TimerTask } from "../../src/core/tasks.js";
import {
  type Case,
  completion,
  failure,
  hb,
  immediate,
  j,
  type Orchestrator,
  run,
  runCase,
  START,
} from "./util.js";

const at = (ms: number) => new Date(START.getTime() + ms);

describe("fan-out / fan-in", () => {
  const fanOut: Orchestrator = function* (ctx) {
    const tasks = ["a", "b", "c"].map((x) => ctx.callActivity<string>("Work", x));
    const results = yield* ctx.Task.all(tasks);
    return results.join(",");
  };
  const scheduled = () =>
    hb()
      .step()
      .started()
      .taskScheduled(0, "Work", "a")
      .taskScheduled(1, "Work", "b")
      .taskScheduled(2, "Work", "c");
  const cases: Case[] = [
    {
      name: "all tasks are scheduled in one step with consecutive sequence numbers",
      orchestrator: fanOut,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: ["a", "b", "c"].map((x, id) => ({
          kind: "ScheduleTask" as const,
          id,
          name: "Work",
          input: j(x),
        })),
        completion: "none",
      },
    },
    {
      name: "Task.all waits for every task",
      orchestrator: fanOut,
      past: scheduled().events(),
      fresh: hb().step().taskCompleted(2, "C").taskCompleted(0, "A").events(),
      expect: { actions: [], completion: "none" },
    },
    {
      name: "Task.all results follow input order, not completion order",
      orchestrator: fanOut,
      past: scheduled().step().taskCompleted(2, "C").taskCompleted(0, "A").events(),
      fresh: hb().step().taskCompleted(1, "B").events(),
      expect: { completion: { status: "Completed", result: j("A,B,C") } },
    },
    {
      name: "Task.all fails fast with the first failure as TaskFailedError",
      orchestrator: function* (ctx) {
        const tasks = [ctx.callActivity("W"), ctx.callActivity("W"), ctx.callActivity("W")];
        try {
          yield Task.all(tasks);
          return "unreachable";
        } catch (err) {
          assert.ok(err instanceof TaskFailedError);
          return [err.taskId, err.details.message, tasks[2]?.isCompleted];
        }
      },
      past: hb().step().started().taskScheduled(0, "W").taskScheduled(1, "W").taskScheduled(2, "W").events(),
      fresh: hb().step().taskCompleted(0).taskFailed(1, "second broke").taskFailed(2, "third broke").events(),
      expect: { completion: { status: "Completed", result: j([1, "second broke", false]) } },
    },
    {
      name: "Task.all of no tasks completes at once with []",
      orchestrator: function* () {
        return yield Task.all([]);
      },
      past: [],
      fresh: hb().step().started().events(),
      expect: { completion: { status: "Completed", result: j([]) } },
    },
    {
      name: "Task.any resolves to the winning task",
      orchestrator: function* (ctx) {
        const a = ctx.callActivity("A");
        const b = ctx.callActivity("B");
        const winner = yield* ctx.Task.any([a, b]);
        return [winner === b, winner.result];
      },
      past: hb().step().started().taskScheduled(0, "A").taskScheduled(1, "B").events(),
      fresh: hb().step().taskCompleted(1, "bee").taskCompleted(0, "ay").events(),
      expect: { completion: { status: "Completed", result: j([true, "bee"]) } },
    },
    {
      name: "Task.any resolves (does not throw) when the first finisher failed",
      orchestrator: function* (ctx) {
        const winner = yield* Task.any([ctx.callActivity("A"), ctx.callActivity("B")]);
        return [winner.isFaulted, (winner.exception as TaskFailedError).taskId];
      },
      past: hb().step().started().taskScheduled(0, "A").taskScheduled(1, "B").events(),
      fresh: hb().step().taskFailed(0, "nope").events(),
      expect: { completion: { status: "Completed", result: j([true, 0]) } },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("timers", () => {
  const deadline = at(60_000);
  /** Waits for approval with a timeout; cancels the timer when the event wins. */
  const approval: Orchestrator = function* (ctx) {
    const event = ctx.waitForExternalEvent<string>("approval");
    const timeout = ctx.createTimer(deadline);
    const winner = yield* ctx.Task.any([event, timeout]);
    if (winner === event) {
      timeout.cancel();
      return `approved by ${event.result}`;
    }
    return "timed out";
  };
  const cases: Case[] = [
    {
      name: "createTimer records CreateTimer with the ISO fire time",
      orchestrator: approval,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        actions: [{ kind: "CreateTimer", id: 0, fireAt: deadline.toISOString() }],
        completion: "none",
      },
    },
    {
      name: "timeout pattern: the event wins and the timer is cancelled",
      orchestrator: approval,
      past: hb().step().started().timerCreated(0, deadline).events(),
      fresh: hb().step().eventRaised("approval", "ann").timerFired(0, deadline).events(),
      expect: { actions: [], completion: { status: "Completed", result: j("approved by ann") } },
    },
    {
      name: "timeout pattern: the timer wins",
      orchestrator: approval,
      past: hb().step().started().timerCreated(0, deadline).events(),
      fresh: hb().step(deadline).timerFired(0, deadline).eventRaised("approval", "late").events(),
      expect: { completion: { status: "Completed", result: j("timed out") } },
    },
    {
      name: "a plain timer resumes the code when it fires",
      orchestrator: function* (ctx) {
        yield ctx.createTimer(deadline);
        return ctx.currentUtcDateTime.toISOString();
      },
      past: hb().step().started().timerCreated(0, deadline).events(),
      fresh: hb().step(deadline).timerFired(0, deadline).events(),
      expect: { completion: { status: "Completed", result: j(deadline.toISOString()) } },
    },
  ];
  for (const c of cases) runCase(c);

  test("a cancelled timer never completes, even when TimerFired arrives", () => {
    let timer: TimerTask | undefined;
    const fn: Orchestrator = function* (ctx) {
      timer = ctx.createTimer(deadline);
      timer.cancel();
      const event = ctx.waitForExternalEvent("go");
      const winner = yield ctx.Task.any([timer, event]);
      return winner === timer ? "timer" : "event";
    };
    const past = hb().step().started().timerCreated(0, deadline).events();
    const waiting = run(fn, past, hb().step(deadline).timerFired(0, deadline).events());
    assert.equal(waiting.completion, undefined);
    assert.equal(timer?.isCanceled, true);
    assert.equal(timer?.isCompleted, false);
    const done = run(fn, past, hb().step(deadline).timerFired(0, deadline).eventRaised("go").events());
    assert.equal(completion(done, "Completed").result, j("event"));
  });

  test("cancelling a timer that already fired throws InvalidStateError", () => {
    const fn: Orchestrator = function* (ctx) {
      const t = ctx.createTimer(deadline);
      yield t;
      t.cancel();
    };
    const result = run(fn, hb().step().started().timerCreated(0, deadline).events(), [
      ...hb().step().timerFired(0, deadline).events(),
    ]);
    assert.equal(failure(result).name, InvalidStateError.name);
  });
});

describe("external events", () => {
  const cases: Case[] = [
    {
      name: "an event raised before the wait is buffered, not lost",
      orchestrator: function* (ctx) {
        yield ctx.callActivity("A");
        return yield ctx.waitForExternalEvent("approval");
      },
      past: hb().step().started().taskScheduled(0, "A").step().eventRaised("approval", { ok: true }).events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: { completion: { status: "Completed", result: j({ ok: true }) } },
    },
    {
      name: "same-name events serve several simultaneous waits in arrival order",
      orchestrator: function* (ctx) {
        const first = ctx.waitForExternalEvent("n");
        const second = ctx.waitForExternalEvent("n");
        return yield ctx.Task.all([second, first]);
      },
      past: hb().step().started().events(),
      fresh: hb().step().eventRaised("n", 1).eventRaised("n", 2).events(),
      expect: { completion: { status: "Completed", result: j([2, 1]) } },
    },
    {
      name: "buffered same-name events serve sequential waits in arrival order",
      orchestrator: function* (ctx) {
        yield ctx.createTimer(at(5000));
        const a = yield ctx.waitForExternalEvent("n");
        const b = yield ctx.waitForExternalEvent("n");
        return [a, b];
      },
      past: hb().step().started().timerCreated(0, at(5000)).events(),
      fresh: hb()
        .step()
        .eventRaised("n", "first")
        .eventRaised("n", "second")
        .timerFired(0, at(5000))
        .events(),
      expect: { completion: { status: "Completed", result: j(["first", "second"]) } },
    },
    {
      name: "events with other names do not satisfy a wait",
      orchestrator: function* (ctx) {
        return yield ctx.waitForExternalEvent("a");
      },
      past: hb().step().started().events(),
      fresh: hb().step().eventRaised("b", 1).eventRaised("A", 2).events(),
      expect: { actions: [], completion: "none" },
    },
    {
      name: "differently named events stay with their own waits",
      orchestrator: function* (ctx) {
        const a = yield ctx.waitForExternalEvent("a");
        const b = yield ctx.waitForExternalEvent("b");
        return { a, b };
      },
      past: hb().step().started().events(),
      fresh: hb().step().eventRaised("b", "bee").eventRaised("a", "ay").events(),
      expect: { completion: { status: "Completed", result: j({ a: "ay", b: "bee" }) } },
    },
    {
      name: "an event without data yields undefined",
      orchestrator: function* (ctx) {
        const data = yield ctx.waitForExternalEvent("ping");
        return data === undefined ? "undefined" : "defined";
      },
      past: hb().step().started().events(),
      fresh: hb().step().eventRaised("ping").events(),
      expect: { completion: { status: "Completed", result: j("undefined") } },
    },
    {
      name: "an empty event name is rejected at the call site",
      orchestrator: immediate((ctx) => {
        try {
          ctx.waitForExternalEvent(" ");
        } catch (err) {
          return err instanceof InvalidArgumentError;
        }
      }),
      past: [],
      fresh: hb().step().started().events(),
      expect: { completion: { status: "Completed", result: j(true) } },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("retries", () => {
  const policy: RetryPolicy = { firstRetryIntervalMs: 1000, maxNumberOfAttempts: 3, backoffCoefficient: 2 };
  const withRetry = (retry: RetryPolicy): Orchestrator =>
    function* (ctx) {
      return yield ctx.callActivityWithRetry("Flaky", retry, "in");
    };
  // Steps are 1 s apart: failure of attempt 1 at +1s, timer fires at +2s, attempt 2 fails at +3s.
  const attempt1Failed = () =>
    hb()
      .step()
      .started()
      .taskScheduled(0, "Flaky", "in")
      .step()
      .taskFailed(0, "e1")
      .timerCreated(1, at(2000));
  const attempt2Scheduled = () =>
    attempt1Failed().step().timerFired(1, at(2000)).taskScheduled(2, "Flaky", "in", 2);
  const attempt2Failed = () =>
    attempt2Scheduled()
      .step()
      .taskFailed(2, "e2")
      .timerCreated(3, at(3000 + 2000));
  const attempt3Scheduled = () =>
    attempt2Failed().step().timerFired(3, at(5000)).taskScheduled(4, "Flaky", "in", 3);

  const cases: Case[] = [
    {
      name: "a failed attempt creates a timer firstRetryIntervalMs later",
      orchestrator: withRetry(policy),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step(at(1000)).taskFailed(0, "e1").events(),
      expect: {
        actions: [{ kind: "CreateTimer", id: 1, fireAt: at(2000).toISOString() }],
        completion: "none",
      },
    },
    {
      name: "the fired timer schedules attempt 2 with its attempt number",
      orchestrator: withRetry(policy),
      past: attempt1Failed().events(),
      fresh: hb().step(at(2000)).timerFired(1, at(2000)).events(),
      expect: { actions: [{ kind: "ScheduleTask", id: 2, name: "Flaky", input: j("in"), attempt: 2 }] },
    },
    {
      name: "the next delay is multiplied by backoffCoefficient",
      orchestrator: withRetry(policy),
      past: attempt2Scheduled().events(),
      fresh: hb().step(at(3000)).taskFailed(2, "e2").events(),
      expect: { actions: [{ kind: "CreateTimer", id: 3, fireAt: at(5000).toISOString() }] },
    },
    {
      name: "maxRetryIntervalMs caps the delay",
      orchestrator: withRetry({ ...policy, backoffCoefficient: 10, maxRetryIntervalMs: 4000 }),
      past: attempt2Scheduled().events(),
      fresh: hb().step(at(3000)).taskFailed(2, "e2").events(),
      expect: { actions: [{ kind: "CreateTimer", id: 3, fireAt: at(7000).toISOString() }] },
    },
    {
      name: "attempt 3 carries attempt number 3",
      orchestrator: withRetry(policy),
      past: attempt2Failed().events(),
      fresh: hb().step(at(5000)).timerFired(3, at(5000)).events(),
      expect: { actions: [{ kind: "ScheduleTask", id: 4, name: "Flaky", input: j("in"), attempt: 3 }] },
    },
    {
      name: "gives up after maxNumberOfAttempts with the last error",
      orchestrator: withRetry(policy),
      past: attempt3Scheduled().events(),
      fresh: hb().step(at(6000)).taskFailed(4, "e3").events(),
      expect: {
        actions: [],
        failureCode: "TASK_FAILED",
        check: (r) => assert.equal(r.completion?.failure?.cause?.message, "e3"),
      },
    },
    {
      name: "a later attempt's success is the result",
      orchestrator: withRetry(policy),
      past: attempt2Scheduled().events(),
      fresh: hb().step().taskCompleted(2, "finally").events(),
      expect: { completion: { status: "Completed", result: j("finally") } },
    },
    {
      name: "handle returning false stops retrying",
      orchestrator: withRetry({
        ...policy,
        handle: (err) => (err as TaskFailedError).details.code !== "FATAL",
      }),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step().taskFailed(0, { name: "Error", message: "no", code: "FATAL" }).events(),
      expect: { actions: [], failureCode: "TASK_FAILED" },
    },
    {
      name: "handle returning true keeps retrying",
      orchestrator: withRetry({
        ...policy,
        handle: (err) => (err as TaskFailedError).details.code !== "FATAL",
      }),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step(at(1000)).taskFailed(0, { name: "Error", message: "no", code: "BUSY" }).events(),
      expect: { actions: [{ kind: "CreateTimer", id: 1, fireAt: at(2000).toISOString() }] },
    },
    {
      name: "a throwing handle fails the retried task with its error instead of crashing the step",
      orchestrator: withRetry({
        ...policy,
        handle: () => {
          throw new SyntaxError("bug in handle");
        },
      }),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step().taskFailed(0, "x").events(),
      expect: {
        actions: [],
        check: (r) =>
          assert.deepEqual([failure(r).name, failure(r).message], ["SyntaxError", "bug in handle"]),
      },
    },
    {
      name: "no retry starts after retryTimeoutMs",
      orchestrator: withRetry({ ...policy, retryTimeoutMs: 3000 }),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step(at(3000)).taskFailed(0, "slow").events(),
      expect: { actions: [], failureCode: "TASK_FAILED" },
    },
    {
      name: "new RetryOptions(first, max) works as in durable-functions",
      orchestrator: withRetry(new RetryOptions(500, 2)),
      past: hb().step().started().taskScheduled(0, "Flaky", "in").events(),
      fresh: hb().step(at(1000)).taskFailed(0, "x").events(),
      expect: { actions: [{ kind: "CreateTimer", id: 1, fireAt: at(1500).toISOString() }] },
    },
    {
      name: "an invalid policy is rejected at the call site",
      orchestrator: withRetry({ firstRetryIntervalMs: 0, maxNumberOfAttempts: 2 }),
      past: [],
      fresh: hb().step().started().events(),
      expect: { actions: [], failureCode: "INVALID_ARGUMENT" },
    },
  ];
  for (const c of cases) runCase(c);

  test("retryDelayMs follows first × coefficient^(attempt-2), capped", () => {
    const p = {
      firstRetryIntervalMs: 100,
      maxNumberOfAttempts: 9,
      backoffCoefficient: 3,
      maxRetryIntervalMs: 2000,
    };
    assert.deepEqual(
      [2, 3, 4, 5].map((n) => retryDelayMs(p, n)),
      [100, 300, 900, 2000],
    );
  });
});
