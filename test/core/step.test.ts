/** runOrchestrationStep: from instance row + history + inbox messages to the checkpoint. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HistoryEvent, ParentInfo } from "../../src/core/events.js";
import type { NewMessage } from "../../src/core/records.js";
import { HistoryBuilder } from "../../src/testing/history.js";
import {
  EXEC,
  hb,
  INSTANCE,
  immediate,
  inbox,
  j,
  kinds,
  NOW,
  type Orchestrator,
  plain,
  START,
  step,
} from "./util.js";

const chain: Orchestrator = function* (ctx) {
  const a = yield ctx.callActivity("A", ctx.input);
  return yield ctx.callActivity("B", a);
};

describe("runOrchestrationStep: messages", () => {
  test("the first step records the start and schedules the activity", () => {
    const h = hb({ input: 5 });
    const { checkpoint } = step(
      chain,
      h.instance({ runtimeStatus: "Pending" }),
      [],
      inbox(h.started().events()),
    );
    assert.equal(checkpoint.history.mode, "append");
    assert.deepEqual(kinds(checkpoint.history.events), [
      "OrchestratorStarted",
      "ExecutionStarted",
      "TaskScheduled",
    ]);
    assert.equal(checkpoint.history.events[0]?.timestamp, NOW.toISOString());
    assert.deepEqual(checkpoint.consumedMessageIds, ["m1"]);
    assert.deepEqual(checkpoint.activities, [
      { instanceId: INSTANCE, executionId: EXEC, taskId: 0, name: "A", input: j(5), attempt: 1 },
    ]);
    assert.equal(checkpoint.instance.runtimeStatus, "Running");
    assert.equal(checkpoint.instance.lastUpdatedAt, NOW.getTime());
  });

  test("messages for another execution are consumed but not applied", () => {
    const h = hb().step().started().taskScheduled(0, "A");
    const stale = inbox(hb().taskCompleted(0, "old").events(), "previous-exec");
    const { checkpoint, result } = step(chain, h.instance(), h.events(), stale);
    assert.equal(result, undefined, "the orchestrator does not run for stale messages only");
    assert.deepEqual(checkpoint.consumedMessageIds, ["m1"]);
    assert.deepEqual(checkpoint.history, { mode: "append", events: [] });
    assert.deepEqual(checkpoint.activities, []);
    assert.equal(checkpoint.instance.runtimeStatus, "Running");
  });

  test("messages for the current execution (or for any) are applied", () => {
    const h = hb().step().started().taskScheduled(0, "A");
    const messages = inbox(hb().taskCompleted(0, "x").events(), EXEC);
    const { checkpoint } = step(chain, h.instance(), h.events(), messages);
    assert.deepEqual(kinds(checkpoint.history.events), [
      "OrchestratorStarted",
      "TaskCompleted",
      "TaskScheduled",
    ]);
    assert.equal(checkpoint.activities[0]?.input, j("x"));
  });

  test("messages to a terminal instance are consumed and nothing else changes", () => {
    const h = hb().step().started().completed(0, "done");
    const instance = h.instance({ runtimeStatus: "Completed", output: j("done"), completedAt: 123 });
    const { checkpoint, result } = step(
      chain,
      instance,
      h.events(),
      inbox(hb().eventRaised("late", 1).events()),
    );
    assert.equal(result, undefined);
    assert.deepEqual(checkpoint.consumedMessageIds, ["m1"]);
    assert.deepEqual(checkpoint.history, { mode: "append", events: [] });
    assert.deepEqual(plain(checkpoint.instance), {
      executionId: EXEC,
      runtimeStatus: "Completed",
      output: j("done"),
      lastUpdatedAt: instance.lastUpdatedAt,
      completedAt: 123,
    });
    assert.deepEqual([checkpoint.activities, checkpoint.messages, checkpoint.children], [[], [], []]);
  });

  test("a duplicate ExecutionStarted for a started instance is ignored", () => {
    const h = hb().step().started().taskScheduled(0, "A");
    const { checkpoint } = step(chain, h.instance(), h.events(), inbox(hb().started().events()));
    assert.deepEqual(kinds(checkpoint.history.events), ["OrchestratorStarted"]);
    assert.deepEqual(checkpoint.activities, []);
  });
});

describe("runOrchestrationStep: actions become history and outbound work", () => {
  const fireAt = new Date("2024-01-03T00:00:00.000Z");

  test("a timer becomes TimerCreated plus a TimerFired message visible at fireAt for this execution", () => {
    const fn: Orchestrator = function* (ctx) {
      yield ctx.createTimer(fireAt);
    };
    const h = hb().step().started();
    const { checkpoint } = step(fn, h.instance(), h.events(), []);
    const created = checkpoint.history.events.find((e) => e.kind === "TimerCreated");
    assert.deepEqual(plain(created), {
      eventId: 0,
      kind: "TimerCreated",
      fireAt: fireAt.toISOString(),
      timestamp: NOW.toISOString(),
    });
    assert.equal(checkpoint.messages.length, 1);
    const [msg] = checkpoint.messages;
    assert.equal(msg?.instanceId, INSTANCE);
    assert.equal(msg?.executionId, EXEC);
    assert.equal(msg?.visibleAt, fireAt.getTime());
    assert.deepEqual(
      { kind: msg?.event.kind, timerId: msg?.event.kind === "TimerFired" && msg.event.timerId },
      { kind: "TimerFired", timerId: 0 },
    );
  });

  test("a retried activity carries its attempt number to history and the activity task", () => {
    const fn: Orchestrator = function* (ctx) {
      yield ctx.callActivityWithRetry("Flaky", { firstRetryIntervalMs: 10, maxNumberOfAttempts: 3 });
    };
    const h = hb()
      .step()
      .started()
      .taskScheduled(0, "Flaky")
      .step()
      .taskFailed(0, "x")
      .timerCreated(1, START);
    const { checkpoint } = step(
      fn,
      h.instance(),
      h.events(),
      inbox(hb().timerFired(1, START).events(), EXEC),
    );
    const scheduled = checkpoint.history.events.find((e) => e.kind === "TaskScheduled");
    assert.equal(scheduled?.kind === "TaskScheduled" && scheduled.attempt, 2);
    assert.deepEqual(
      checkpoint.activities.map((a) => [a.taskId, a.attempt]),
      [[2, 2]],
    );
  });

  test("a sub-orchestration becomes a ChildInstance with parent info and a conflict reply", () => {
    const fn: Orchestrator = function* (ctx) {
      yield ctx.callSubOrchestrator("Child", { k: 1 });
    };
    const h = hb().step().started();
    const { checkpoint } = step(fn, h.instance(), h.events(), []);
    assert.equal(checkpoint.children.length, 1);
    const child = checkpoint.children[0]!;
    const parent: ParentInfo = { instanceId: INSTANCE, executionId: EXEC, name: "Orch", taskScheduledId: 0 };
    assert.deepEqual(
      [child.instanceId, child.name, child.executionId, child.input, child.parent, child.visibleAt],
      [`${INSTANCE}:0`, "Child", "new-exec-1", j({ k: 1 }), parent, NOW.getTime()],
    );
    assert.deepEqual(
      plain(child.started),
      plain({
        eventId: -1,
        kind: "ExecutionStarted",
        name: "Child",
        instanceId: `${INSTANCE}:0`,
        executionId: "new-exec-1",
        input: j({ k: 1 }),
        parent,
        timestamp: NOW.toISOString(),
      }),
    );
    const reply = child.conflictReply!;
    assert.deepEqual([reply.instanceId, reply.executionId, reply.event.taskScheduledId], [INSTANCE, EXEC, 0]);
    assert.equal(reply.event.failure.code, "INSTANCE_ALREADY_EXISTS");
    assert.ok(
      checkpoint.history.events.some((e) => e.kind === "SubOrchestrationInstanceCreated" && e.eventId === 0),
    );
  });

  test("sendEvent becomes EventSent plus an EventRaised message to the target (any execution)", () => {
    const fn: Orchestrator = immediate((ctx) => {
      ctx.sendEvent("other", "ping", { n: 1 });
    });
    const h = hb().step().started();
    const { checkpoint } = step(fn, h.instance(), h.events(), []);
    const [msg] = checkpoint.messages;
    assert.deepEqual(plain(msg), {
      instanceId: "other",
      event: {
        eventId: -1,
        kind: "EventRaised",
        name: "ping",
        input: j({ n: 1 }),
        timestamp: NOW.toISOString(),
      },
      visibleAt: NOW.getTime(),
    });
    assert.equal(checkpoint.history.events.at(-2)?.kind, "EventSent");
  });

  test("completion and custom status update the instance row", () => {
    const fn: Orchestrator = immediate((ctx) => {
      ctx.setCustomStatus("almost");
      return 42;
    });
    const h = hb();
    const { checkpoint } = step(
      fn,
      h.instance({ runtimeStatus: "Pending" }),
      [],
      inbox(h.started().events()),
    );
    assert.deepEqual(plain(checkpoint.instance), {
      executionId: EXEC,
      runtimeStatus: "Completed",
      output: j(42),
      customStatus: j("almost"),
      lastUpdatedAt: NOW.getTime(),
      completedAt: NOW.getTime(),
    });
    assert.equal(checkpoint.history.events.at(-1)?.kind, "ExecutionCompleted");
  });
});

describe("runOrchestrationStep: results to a parent", () => {
  const parent: ParentInfo = {
    instanceId: "parent",
    executionId: "parent-exec",
    name: "P",
    taskScheduledId: 3,
  };
  const childHistory = () =>
    new HistoryBuilder({ instanceId: INSTANCE, name: "Child", parent, start: START });
  const cases: { name: string; fn: Orchestrator; fresh: HistoryEvent[]; expect: (m: NewMessage) => void }[] =
    [
      {
        name: "a completed child reports SubOrchestrationInstanceCompleted to the parent execution",
        fn: immediate(() => {
          return "child-out";
        }),
        fresh: [],
        expect: (m) =>
          assert.deepEqual(plain(m.event), {
            eventId: -1,
            kind: "SubOrchestrationInstanceCompleted",
            taskScheduledId: 3,
            result: j("child-out"),
            timestamp: NOW.toISOString(),
          }),
      },
      {
        name: "a failed child reports SubOrchestrationInstanceFailed with its failure",
        fn: immediate(() => {
          throw new RangeError("child broke");
        }),
        fresh: [],
        expect: (m) => {
          assert.equal(m.event.kind, "SubOrchestrationInstanceFailed");
          assert.ok(m.event.kind === "SubOrchestrationInstanceFailed");
          assert.deepEqual(
            [m.event.taskScheduledId, m.event.failure.name, m.event.failure.message],
            [3, "RangeError", "child broke"],
          );
        },
      },
      {
        name: "a terminated child reports a failure to the parent",
        fn: function* (ctx) {
          yield ctx.waitForExternalEvent("never");
        },
        fresh: hb().terminated("stop").events(),
        expect: (m) => assert.equal(m.event.kind, "SubOrchestrationInstanceFailed"),
      },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const h = childHistory();
      const messages = inbox([...h.started().events(), ...c.fresh]);
      const { checkpoint } = step(c.fn, h.instance({ runtimeStatus: "Pending" }), [], messages);
      assert.equal(checkpoint.messages.length, 1);
      const [m] = checkpoint.messages;
      assert.deepEqual(
        [m?.instanceId, m?.executionId, m?.visibleAt],
        ["parent", "parent-exec", NOW.getTime()],
      );
      c.expect(m!);
    });
  }
});

describe("runOrchestrationStep: lifecycle", () => {
  const twoChildren: Orchestrator = function* (ctx) {
    yield ctx.Task.all([ctx.callSubOrchestrator("C"), ctx.callSubOrchestrator("C")]);
  };
  const withChildren = () =>
    hb()
      .step()
      .started()
      .subStarted(0, "C", `${INSTANCE}:0`)
      .subStarted(1, "C", `${INSTANCE}:1`)
      .step()
      .subCompleted(0);

  test("recursive terminate sends ExecutionTerminated to open children only", () => {
    const h = withChildren();
    const { checkpoint } = step(
      twoChildren,
      h.instance(),
      h.events(),
      inbox(hb().terminated("halt", true).events()),
    );
    assert.equal(checkpoint.instance.runtimeStatus, "Terminated");
    assert.equal(checkpoint.instance.output, j("halt"));
    assert.deepEqual(
      checkpoint.messages.map((m) => [
        m.instanceId,
        m.event.kind,
        m.event.kind === "ExecutionTerminated" && m.event.recursive,
      ]),
      [[`${INSTANCE}:1`, "ExecutionTerminated", true]],
    );
  });

  test("non-recursive terminate leaves children alone", () => {
    const h = withChildren();
    const { checkpoint } = step(
      twoChildren,
      h.instance(),
      h.events(),
      inbox(hb().terminated("halt").events()),
    );
    assert.equal(checkpoint.instance.runtimeStatus, "Terminated");
    assert.deepEqual(checkpoint.messages, []);
  });

  test("terminate before start ends as Terminated", () => {
    const h = hb();
    const { checkpoint } = step(
      chain,
      h.instance({ runtimeStatus: "Pending" }),
      [],
      inbox(h.terminated("never mind").events()),
    );
    assert.equal(checkpoint.instance.runtimeStatus, "Terminated");
    assert.equal(checkpoint.instance.output, j("never mind"));
    assert.deepEqual(kinds(checkpoint.history.events), [
      "OrchestratorStarted",
      "ExecutionTerminated",
      "ExecutionCompleted",
    ]);
    assert.deepEqual(checkpoint.activities, []);
  });

  test("a suspended instance reports Suspended, and Running again after resume", () => {
    const h = hb().step().started().taskScheduled(0, "A");
    const suspended = step(
      chain,
      h.instance(),
      h.events(),
      inbox(hb().suspended().taskCompleted(0, "a").events()),
    );
    assert.equal(suspended.checkpoint.instance.runtimeStatus, "Suspended");
    assert.deepEqual(suspended.checkpoint.activities, []);
    const history = [...h.events(), ...suspended.checkpoint.history.events];
    const resumed = step(
      chain,
      h.instance({ runtimeStatus: "Suspended" }),
      history,
      inbox(hb().resumed().events()),
    );
    assert.equal(resumed.checkpoint.instance.runtimeStatus, "Running");
    assert.deepEqual(
      resumed.checkpoint.activities.map((a) => a.name),
      ["B"],
    );
  });

  test("continueAsNew replaces history and starts a new execution with carried events", () => {
    const fn: Orchestrator = function* (ctx) {
      yield ctx.waitForExternalEvent("go");
      ctx.continueAsNew(ctx.getInput<number>() + 1, { preserveUnprocessedEvents: true });
    };
    const h = hb({ input: 1 }).step().started();
    const messages = inbox(hb().eventRaised("x", "a").eventRaised("go").eventRaised("x", "b").events());
    const { checkpoint } = step(fn, h.instance(), h.events(), messages);
    assert.deepEqual(checkpoint.history, { mode: "replace", events: [] });
    assert.deepEqual(checkpoint.consumedMessageIds, ["m1", "m2", "m3"]);
    assert.deepEqual(
      [checkpoint.instance.runtimeStatus, checkpoint.instance.executionId, checkpoint.instance.input],
      ["ContinuedAsNew", "new-exec-1", j(2)],
    );
    assert.deepEqual(
      checkpoint.messages.map((m) => [
        m.instanceId,
        m.executionId,
        m.event.kind,
        "input" in m.event ? m.event.input : "-",
      ]),
      [
        [INSTANCE, "new-exec-1", "ExecutionStarted", j(2)],
        [INSTANCE, "new-exec-1", "EventRaised", j("a")],
        [INSTANCE, "new-exec-1", "EventRaised", j("b")],
      ],
    );
    const started = checkpoint.messages[0]?.event;
    assert.ok(started?.kind === "ExecutionStarted");
    assert.deepEqual(
      [started.name, started.instanceId, started.executionId],
      ["Orch", INSTANCE, "new-exec-1"],
    );
  });
});

describe("runOrchestrationStep: rewind requests that do not apply", () => {
  test("a rewind that reaches a running instance is consumed without touching history", () => {
    const h = hb().step().started().taskScheduled(0, "A");
    const messages = inbox(hb().rewound("late").events());
    const { checkpoint, result } = step(chain, h.instance(), h.events(), messages);
    assert.equal(result, undefined);
    assert.deepEqual(checkpoint.history, { mode: "append", events: [] });
    assert.equal(checkpoint.instance.runtimeStatus, "Running");
  });
});
