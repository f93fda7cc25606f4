/**
 * Fencing with real processes. A worker armed to freeze itself (SIGSTOP) at a fault point just
 * before it commits (an orchestration step, or an activity's result) gets a fresh batch of work
 * to itself; once it is frozen, a second worker starts, takes every lease of the frozen one over,
 * and stops gracefully. Then the frozen worker is thawed (SIGCONT): its late commit must be refused
 * (lease lost), and in the end every instance must have the oracle's output and clean histories.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { FaultPointName } from "../../src/dispatch/faults.js";
import {
  engineErrors,
  killAllWorkers,
  leaseLostLines,
  thawUntil,
  WorkerProcess,
  waitAllTerminal,
  waitFor,
  waitForAsync,
} from "./harness.js";
import { rawStore } from "./raw-store.js";
import { startSqliteRun } from "./sqlite-run.js";
import { verifyRecovery } from "./verify.js";
import { ORCHESTRATOR_NAMES, type PlannedInstance, planInstances } from "./workload.js";

/** The points where a worker holds a lease and is about to commit under it. */
const COMMIT_POINTS: readonly FaultPointName[] = ["orchestration:before-commit", "activity:before-complete"];
const FREEZE_COUNT = 3;
/** Each freeze starts a fresh batch of instances (2 chains, 2 fan-outs) for the armed worker alone. */
const BATCH = 4;
const STEP_TIMEOUT_MS = 30_000;
const FINISH_TIMEOUT_MS = 60_000;

describe("a frozen worker that wakes up after losing its leases commits nothing", () => {
  const cleanups: (() => Promise<void>)[] = [];

  after(async () => {
    await killAllWorkers();
    for (const cleanup of cleanups) await cleanup();
  });

  for (const point of COMMIT_POINTS) {
    test(
      `frozen at ${point}`,
      {
        skip: process.platform !== "linux" && "reads /proc",
        timeout: 4 * STEP_TIMEOUT_MS + FINISH_TIMEOUT_MS,
      },
      async (t) => {
        const run = startSqliteRun("refrain-stall-");
        cleanups.push(run.cleanup);
        const { store, countsFile, client } = run;
        const planned = planInstances(3 * BATCH * FREEZE_COUNT).filter(
          (p) => p.kind === "chain" || p.kind === "fanout",
        );
        const startBatch = async (batch: readonly PlannedInstance[]) => {
          for (const p of batch) {
            await client.startNew(ORCHESTRATOR_NAMES[p.kind], { input: p.input, instanceId: p.instanceId });
          }
        };

        const frozen = WorkerProcess.spawn(store, countsFile, {
          REFRAIN_FAULT_POINTS: point,
          REFRAIN_FAULT_ACTION: "pause",
        });
        await frozen.ready;
        const logs: string[] = [];
        for (let freeze = 1; freeze <= FREEZE_COUNT; freeze++) {
          await startBatch(planned.slice((freeze - 1) * BATCH, freeze * BATCH));
          await waitFor(
            () => frozen.isFrozen(),
            STEP_TIMEOUT_MS,
            `freeze ${freeze}: the armed worker never reached ${point}; its log: ${frozen.stderr}`,
          );
          const takeover = WorkerProcess.spawn(store, countsFile);
          await takeover.ready;
          await waitForAsync(
            async () => (await rawStore(store).leasesHeldBy(frozen.workerId)) === 0,
            STEP_TIMEOUT_MS,
            `freeze ${freeze}: no worker took the frozen worker's leases over`,
          );
          const exit = await takeover.stop();
          logs.push(takeover.stderr);
          assert.equal(exit.code, 0, `the takeover worker did not stop cleanly: ${takeover.stderr}`);
          const refusedBefore = leaseLostLines(frozen.stderr);
          await thawUntil(
            frozen,
            () => leaseLostLines(frozen.stderr) > refusedBefore,
            STEP_TIMEOUT_MS,
            `freeze ${freeze}: the thawed worker's commit at ${point} was not refused`,
          );
        }
        await frozen.kill();
        logs.push(frozen.stderr);

        const finisher = WorkerProcess.spawn(store, countsFile);
        await finisher.ready;
        await waitAllTerminal(
          client,
          planned.map((p) => p.instanceId),
          FINISH_TIMEOUT_MS,
        );
        const exit = await finisher.stop();
        logs.push(finisher.stderr);
        assert.equal(exit.code, 0, `the last worker did not stop cleanly: ${finisher.stderr}`);
        const report = await verifyRecovery(client, planned, { store, countsFile });
        t.diagnostic(
          `${leaseLostLines(frozen.stderr)} late commits refused; ${report.activityExecutions} executions of ` +
            `${report.activitiesScheduled} activities, ${report.redelivered.length} ran more than once`,
        );
        const errors = logs.flatMap(engineErrors);
        if (errors.length > 0)
          t.diagnostic(`engine errors in worker logs:\n${errors.slice(0, 10).join("\n")}`);
      },
    );
  }
});
