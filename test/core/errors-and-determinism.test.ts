/** Failures, non-determinism detection, invalid yields, the name registry and payload validation. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ActivityNotFoundError,
  type FailureDetails,
  PayloadNotSerializableError,
  PayloadTooLargeError,
  TaskFailedError,
  toFailureDetails,
} from "../../src/core/errors.js";
import type { NameRegistry } from "../../src/core/refs.js";
import type { OrchestratorFunction } from "../../src/core/replay.js";
import type { Task } from "../../src/core/tasks.js";
import {
  type Case,
  completion,
  failure,
  hb,
  INSTANCE,
  immediate,
  j,
  type Orchestrator,
  run,
  runCase,
  START,
} from "./util.js";

class HttpError extends Error {
  override name = "HttpError";
  code = "E_UPSTREAM";
  httpStatus = 503;
  retryAfter = { seconds: 30 };
}

function upstreamError(): HttpError {
  const root = new Error("ECONNRESET");
  const mid = new Error("socket hang up", { cause: root });
  return new HttpError("upstream unavailable", { cause: mid });
}

const fetchOnce: Orchestrator = function* (ctx) {
  return yield ctx.callActivity("Fetch", "https://example.test");
};
const fetchScheduled = () => hb().step().started().taskScheduled(0, "Fetch", "https://example.test");

describe("activity failures", () => {
  const err = upstreamError();
  const details = toFailureDetails(err);

  test("failure details keep name, message, stack, cause chain, code and custom properties", () => {
    assert.equal(details.name, "HttpError");
    assert.equal(details.message, "upstream unavailable");
    assert.equal(details.stack, err.stack);
    assert.equal(details.code, "E_UPSTREAM");
    assert.deepEqual(details.properties, { httpStatus: 503, retryAfter: { seconds: 30 } });
    assert.equal(details.cause?.message, "socket hang up");
    assert.equal(details.cause?.cause?.message, "ECONNRESET");
    assert.equal(details.cause?.cause?.cause, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(details)), details, "details are plain JSON");
  });

  test("a failed activity throws TaskFailedError at the yield, catchable, with lossless details", () => {
    let caught: unknown;
    const fn: Orchestrator = function* (ctx) {
      try {
        yield ctx.callActivity("Fetch", "https://example.test");
      } catch (e) {
        caught = e;
        return "recovered";
      }
    };
    const result = run(fn, fetchScheduled().events(), hb().step().taskFailed(0, err).events());
    assert.equal(completion(result, "Completed").result, j("recovered"));
    assert.ok(caught instanceof TaskFailedError);
    assert.equal(caught.code, "TASK_FAILED");
    assert.equal(caught.taskId, 0);
    assert.equal(caught.message, "activity 'Fetch' failed: HttpError: upstream unavailable");
    assert.deepEqual(caught.details, details);
  });

  test("an uncaught activity failure fails the orchestration with the activity failure as cause", () => {
    const f = failure(run(fetchOnce, fetchScheduled().events(), hb().step().taskFailed(0, err).events()));
    assert.equal(f.name, "TaskFailedError");
    assert.equal(f.code, "TASK_FAILED");
    assert.match(f.message, /activity 'Fetch' failed/);
    assert.ok(f.stack);
    assert.deepEqual(f.cause, details);
  });

  const thrown: { name: string; error: () => unknown; expect: Partial<FailureDetails> }[] = [
    {
      name: "a custom error keeps code, properties and cause",
      error: upstreamError,
      expect: {
        name: "HttpError",
        code: "E_UPSTREAM",
        properties: { httpStatus: 503, retryAfter: { seconds: 30 } },
      },
    },
    { name: "a TypeError keeps its name", error: () => new TypeError("bad"), expect: { name: "TypeError" } },
    {
      name: "a thrown string becomes the message",
      error: () => "plain",
      expect: { name: "Error", message: "plain" },
    },
    {
      name: "a thrown object becomes JSON in the message",
      error: () => ({ why: 1 }),
      expect: { name: "Error", message: j({ why: 1 }) },
    },
  ];
  for (const t of thrown) {
    test(`orchestrator throws: ${t.name}`, () => {
      const fn: Orchestrator = immediate(() => {
        throw t.error();
      });
      const f = failure(run(fn, [], hb().step().started().events()));
      for (const [key, value] of Object.entries(t.expect)) {
        assert.deepEqual(f[key as keyof FailureDetails], value, key);
      }
    });
  }
});

describe("non-determinism", () => {
  const callB: Orchestrator = function* (ctx) {
    return yield ctx.callActivity("B");
  };
  const nd = (check?: (f: FailureDetails) => void) => ({
    actions: [],
    failureCode: "NON_DETERMINISM",
    check: (r: ReturnType<typeof run>) => check?.(failure(r)),
  });
  const cases: Case[] = [
    {
      name: "(a) history recorded activity 'A' at seq 0, code now calls 'B'",
      orchestrator: callB,
      past: hb().step().started().taskScheduled(0, "A").events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: nd((f) => {
        assert.match(f.message, new RegExp(`instance '${INSTANCE}'`));
        assert.match(f.message, /sequence number 0\b/);
        assert.match(f.message, /'A'/);
        assert.match(f.message, /'B'/);
        assert.equal(f.name, "NonDeterminismError");
        assert.equal(f.properties?.sequenceNumber, 0);
      }),
    },
    {
      name: "(b) history recorded an activity, code now creates a timer",
      orchestrator: function* (ctx) {
        yield ctx.createTimer(new Date(START.getTime() + 1000));
      },
      past: hb().step().started().taskScheduled(0, "A").events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: nd((f) => assert.match(f.message, /activity 'A'.*created a timer/s)),
    },
    {
      name: "(c) history recorded an activity, code now returns without calling it",
      orchestrator: immediate(() => {
        return "early";
      }),
      past: hb().step().started().taskScheduled(0, "A").events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: nd((f) => assert.match(f.message, /activity 'A'.*did not make this call/s)),
    },
    {
      name: "(c') history recorded an activity, code now waits for an event instead",
      orchestrator: function* (ctx) {
        return yield ctx.waitForExternalEvent("x");
      },
      past: hb().step().started().taskScheduled(0, "A").events(),
      fresh: hb().step().eventRaised("x").events(),
      expect: nd(),
    },
    {
      name: "(d) a later step diverges after a matching prefix",
      orchestrator: function* (ctx) {
        yield ctx.callActivity("A");
        yield ctx.callSubOrchestrator("Other");
      },
      past: hb()
        .step()
        .started()
        .taskScheduled(0, "A")
        .step()
        .taskCompleted(0)
        .subStarted(1, "Child", "c")
        .events(),
      fresh: hb().step().subCompleted(1).events(),
      expect: nd((f) => assert.match(f.message, /sequence number 1\b.*'Child'.*'Other'/s)),
    },
    {
      name: "a fire-and-forget call recorded before the return replays cleanly",
      orchestrator: function* (ctx) {
        yield ctx.callActivity("A");
        ctx.callActivity("Audit");
        return "done";
      },
      past: hb().step().started().taskScheduled(0, "A").events(),
      fresh: hb().step().taskCompleted(0).events(),
      expect: {
        actions: [{ kind: "ScheduleTask", id: 1, name: "Audit" }],
        completion: { status: "Completed" },
      },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("invalid yields and orchestrator shapes", () => {
  const cases: Case[] = [
    {
      name: "yielding a Promise fails with INVALID_YIELD and a hint",
      orchestrator: function* () {
        yield Promise.resolve(1) as unknown as Task<unknown>;
      },
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        failureCode: "INVALID_YIELD",
        check: (r) => assert.match(failure(r).message, /Promise.*call an activity/s),
      },
    },
    {
      name: "yielding a plain value fails with INVALID_YIELD naming the value",
      orchestrator: function* () {
        yield 42 as unknown as Task<unknown>;
      },
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        failureCode: "INVALID_YIELD",
        check: (r) => assert.match(failure(r).message, /yielded number \(42\).*yield a task/s),
      },
    },
    {
      name: "an async function registered as orchestrator fails",
      orchestrator: (async () => "x") as unknown as Orchestrator,
      past: [],
      fresh: hb().step().started().events(),
      expect: {
        failureCode: "INVALID_YIELD",
        check: (r) => assert.match(failure(r).message, /must be a generator function/),
      },
    },
    {
      name: "a plain function registered as orchestrator fails",
      orchestrator: (() => 5) as unknown as Orchestrator,
      past: [],
      fresh: hb().step().started().events(),
      expect: { failureCode: "INVALID_YIELD", check: (r) => assert.match(failure(r).message, /function\*/) },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("name registry", () => {
  const registry: NameRegistry = {
    activityNames: () => ["Known"],
    orchestratorNames: () => ["Sub"],
    entityNames: () => ["counter"],
  };
  const cases: Case[] = [
    {
      name: "an unknown activity throws ActivityNotFoundError at the call site, catchable",
      orchestrator: immediate((ctx) => {
        try {
          ctx.callActivity("Unknown");
        } catch (err) {
          assert.ok(err instanceof ActivityNotFoundError);
          return [err.code, err.message];
        }
      }),
      past: [],
      fresh: hb().step().started().events(),
      options: { registry },
      expect: {
        actions: [],
        completion: {
          status: "Completed",
          result: j(["ACTIVITY_NOT_FOUND", "no activity named 'Unknown' is registered (registered: Known)"]),
        },
      },
    },
    {
      name: "uncaught, it fails the orchestration with ACTIVITY_NOT_FOUND",
      orchestrator: function* (ctx) {
        yield ctx.callActivityWithRetry("Nope", { firstRetryIntervalMs: 1, maxNumberOfAttempts: 2 });
      },
      past: [],
      fresh: hb().step().started().events(),
      options: { registry },
      expect: { actions: [], failureCode: "ACTIVITY_NOT_FOUND" },
    },
    {
      name: "an unknown sub-orchestrator fails with ORCHESTRATOR_NOT_FOUND",
      orchestrator: function* (ctx) {
        yield ctx.callSubOrchestrator("Nope");
      },
      past: [],
      fresh: hb().step().started().events(),
      options: { registry },
      expect: { actions: [], failureCode: "ORCHESTRATOR_NOT_FOUND" },
    },
    {
      name: "registered names are scheduled normally",
      orchestrator: function* (ctx) {
        yield ctx.Task.all([ctx.callActivity("Known"), ctx.callSubOrchestrator("Sub")]);
      },
      past: [],
      fresh: hb().step().started().events(),
      options: { registry },
      expect: {
        actions: [
          { kind: "ScheduleTask", id: 0, name: "Known" },
          { kind: "CreateSubOrchestration", id: 1, name: "Sub", instanceId: `${INSTANCE}:1` },
        ],
      },
    },
  ];
  for (const c of cases) runCase(c);
});

describe("payload validation", () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const bad: { name: string; input: unknown; path: RegExp }[] = [
    { name: "a function", input: { cb: () => 1 }, path: /the value at \.cb is a function/ },
    { name: "a BigInt", input: [1, 2n], path: /the value at \[1\] is a BigInt/ },
    { name: "a circular reference", input: circular, path: /the value at \.self is a circular reference/ },
  ];
  for (const b of bad) {
    test(`activity input with ${b.name} throws PayloadNotSerializableError at the call site`, () => {
      let caught: unknown;
      const fn: Orchestrator = immediate((ctx) => {
        try {
          ctx.callActivity("Store", b.input);
        } catch (err) {
          caught = err;
        }
        return "ok";
      });
      const result = run(fn, [], hb().step().started().events());
      assert.equal(completion(result, "Completed").result, j("ok"));
      assert.equal(result.actions.length, 1, "nothing was scheduled");
      assert.ok(caught instanceof PayloadNotSerializableError);
      assert.match(caught.message, /input of 'Store'/);
      assert.match(caught.message, b.path);
    });
  }

  const limits: { name: string; fn: OrchestratorFunction; code: string; message: RegExp }[] = [
    {
      name: "output above maxPayloadBytes fails the orchestration with PAYLOAD_TOO_LARGE",
      fn: immediate(() => {
        return "x".repeat(100);
      }),
      code: "PAYLOAD_TOO_LARGE",
      message: /orchestration output is 102 bytes .* limit is 64 bytes/,
    },
    {
      name: "activity input above maxPayloadBytes throws PayloadTooLargeError at the call site",
      fn: immediate((ctx) => {
        try {
          ctx.callActivity("Big", "y".repeat(100));
        } catch (err) {
          assert.ok(err instanceof PayloadTooLargeError);
          throw err;
        }
      }),
      code: "PAYLOAD_TOO_LARGE",
      message: /input of 'Big'/,
    },
    {
      name: "custom status above maxPayloadBytes fails the orchestration",
      fn: immediate((ctx) => {
        ctx.setCustomStatus({ text: "z".repeat(100) });
      }),
      code: "PAYLOAD_TOO_LARGE",
      message: /custom status/,
    },
  ];
  for (const l of limits) {
    test(l.name, () => {
      const f = failure(run(l.fn, [], hb().step().started().events(), { maxPayloadBytes: 64 }));
      assert.equal(f.code, l.code);
      assert.match(f.message, l.message);
    });
  }
});
