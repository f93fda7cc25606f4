/** Rewind: a Failed instance resumes from its failed steps. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rewindHistory } from "../../src/core/rewind.js";
import { EXEC, hb, inbox, j, type Orchestrator, step } from "./util.js";

const chain: Orchestrator = function* (ctx) {
  const a = yield ctx.callActivity("A", ctx.input);
  return yield ctx.callActivity("B", a);
};

describe("rewind", () => {
  const fanOut: Orchestrator = function* (ctx) {
    const [a, b] = yield* ctx.Task.all([ctx.callActivity<string>("A"), ctx.callActivity<string>("B")]);
    const c = yield ctx.waitForExternalEvent("c");
    return [a, b, c];
  };
  const failedHistory = () =>
    hb()
      .step()
      .started()
      .taskScheduled(0, "A")
      .taskScheduled(1, "B")
      .step()
      .taskCompleted(0, "a")
      .step()
      .taskFailed(1, "b broke")
      .failed(2, "activity 'B' failed")
      .eventRaised("c", "kept");

  test("rewindHistory cuts at the first failure, forgets unfinished work and keeps later events", () => {
    const rewound = rewindHistory(failedHistory().events());
    assert.deepEqual(
      rewound.map((e) => (e.kind === "TaskScheduled" ? `${e.kind}:${e.eventId}` : e.kind)),
      [
        "OrchestratorStarted",
        "ExecutionStarted",
        "TaskScheduled:0",
        "OrchestratorStarted",
        "TaskCompleted",
        "OrchestratorStarted",
        "EventRaised",
      ],
    );
  });

  test("a Failed instance with ExecutionRewound reschedules the failed task with its sequence number", () => {
    const h = failedHistory();
    const instance = h.instance({
      runtimeStatus: "Failed",
      failure: { name: "TaskFailedError", message: "x" },
      completedAt: 9,
    });
    const { checkpoint } = step(fanOut, instance, h.events(), inbox(hb().rewound("retry please").events()));
    assert.equal(checkpoint.history.mode, "replace");
    assert.deepEqual(
      checkpoint.activities.map((a) => [a.taskId, a.name, a.attempt]),
      [[1, "B", 1]],
      "only the failed task runs again",
    );
    const events = checkpoint.history.events;
    assert.equal(events.filter((e) => e.kind === "TaskFailed" || e.kind === "ExecutionCompleted").length, 0);
    assert.equal(events.filter((e) => e.kind === "TaskScheduled" && e.eventId === 1).length, 1);
    assert.ok(events.some((e) => e.kind === "ExecutionRewound"));
    assert.equal(checkpoint.instance.runtimeStatus, "Running");
    assert.equal(checkpoint.instance.failure, undefined);
    assert.equal(checkpoint.instance.completedAt, undefined);
  });

  test("after rewind the instance completes normally, using the event that arrived after the failure", () => {
    const h = failedHistory();
    const first = step(
      fanOut,
      h.instance({ runtimeStatus: "Failed" }),
      h.events(),
      inbox(hb().rewound().events()),
    );
    const history = first.checkpoint.history.events;
    const done = step(fanOut, h.instance(), history, inbox(hb().taskCompleted(1, "b").events(), EXEC));
    assert.equal(done.checkpoint.instance.runtimeStatus, "Completed");
    assert.equal(done.checkpoint.instance.output, j(["a", "b", "kept"]));
  });

  test("ExecutionRewound to a Completed instance changes nothing", () => {
    const h = hb().step().started().completed(0, 1);
    const instance = h.instance({ runtimeStatus: "Completed", output: j(1) });
    const { checkpoint } = step(chain, instance, h.events(), inbox(hb().rewound().events()));
    assert.deepEqual(checkpoint.history, { mode: "append", events: [] });
    assert.equal(checkpoint.instance.runtimeStatus, "Completed");
  });
});

describe("rewind of a failed sub-orchestration", () => {
  const parent: Orchestrator = function* (ctx) {
    return yield ctx.callSubOrchestrator("Child", "in");
  };

  test("starts the child again under the same deterministic ID and sequence number", () => {
    const h = hb()
      .step()
      .started()
      .subStarted(0, "Child", "inst-1:0", "in")
      .step()
      .subFailed(0, "child broke")
      .failed(1, "sub-orchestration 'Child' failed");
    const { checkpoint } = step(
      parent,
      h.instance({ runtimeStatus: "Failed" }),
      h.events(),
      inbox(hb().rewound().events()),
    );
    assert.deepEqual(
      checkpoint.children.map((c) => [c.instanceId, c.name, c.input, c.parent?.taskScheduledId]),
      [["inst-1:0", "Child", j("in"), 0]],
    );
    assert.equal(checkpoint.instance.runtimeStatus, "Running");
  });
});
