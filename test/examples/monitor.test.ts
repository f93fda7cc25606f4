import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type MonitorInput, register } from "../../examples/monitor.js";
import { withExampleHub } from "./hub.js";

describe("monitor", () => {
  test("polls until the job succeeds, continuing as new after every check", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input: MonitorInput = { jobId: "job-7", simulatedChecksUntilDone: 3, pollIntervalMs: 10 };
      const id = await hub.client.startNew(refs.monitorJob, { input });
      const status = await finished(id);
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, { jobId: "job-7", outcome: "Succeeded", checks: 3 });
      assert.deepEqual(status.customStatus, { checks: 3, jobState: "Succeeded", percentComplete: 100 });

      // The last execution started from the input the second continueAsNew passed on.
      const history = (await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true }))
        ?.history;
      const started = history?.find((e) => e.kind === "ExecutionStarted");
      const carried = started?.input as MonitorInput;
      assert.equal(carried.checksDone, 2);
      assert.ok(carried.expiresAt, "the deadline is carried from execution to execution");
      // One check per execution: the final history holds exactly one activity call and no timer.
      assert.equal(history?.filter((e) => e.kind === "TaskScheduled").length, 1);
      assert.equal(history?.filter((e) => e.kind === "TimerCreated").length, 0);
    }));

  test("a job done on the first check needs no timer and no continueAsNew", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input: MonitorInput = { jobId: "quick", simulatedChecksUntilDone: 1, pollIntervalMs: 10 };
      const id = await hub.client.startNew(refs.monitorJob, { input });
      const status = await finished(id);
      assert.deepEqual(status.output, { jobId: "quick", outcome: "Succeeded", checks: 1 });
      const history = (await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true }))
        ?.history;
      const started = history?.find((e) => e.kind === "ExecutionStarted");
      assert.equal((started?.input as MonitorInput).checksDone, undefined);
    }));

  test("gives up at the deadline while the job is still running", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const pollIntervalMs = 20;
      const timeoutMs = 100;
      const input: MonitorInput = {
        jobId: "slow",
        simulatedChecksUntilDone: 1000,
        pollIntervalMs,
        timeoutMs,
      };
      const id = await hub.client.startNew(refs.monitorJob, { input });
      const status = await finished(id);
      assert.equal(status.runtimeStatus, "Completed");
      const output = status.output as { outcome: string; checks: number };
      assert.equal(output.outcome, "TimedOut");
      // Checks are at least pollIntervalMs apart and none is scheduled after the deadline.
      assert.ok(
        output.checks >= 1 && output.checks <= timeoutMs / pollIntervalMs + 1,
        `${output.checks} checks`,
      );
      const progress = status.customStatus as { checks: number; jobState: string };
      assert.equal(progress.checks, output.checks);
      assert.equal(progress.jobState, "Running");
    }));
});
