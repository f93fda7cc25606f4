/**
 * Crash at each named fault point of the engine (src/dispatch/faults.ts): a worker armed with
 * one point kills itself with SIGKILL the first time it gets there; a restarted, unarmed worker
 * must then finish a few chains and fan-outs with the oracle's outputs and clean histories.
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { FaultPointName } from "../../src/dispatch/faults.js";
import { countTerminal, describeExit, killAllWorkers, WorkerProcess, waitAllTerminal } from "./harness.js";
import { startSqliteRun } from "./sqlite-run.js";
import { verifyRecovery } from "./verify.js";
import { ORCHESTRATOR_NAMES, planInstances } from "./workload.js";

/** Every fault point the engine passes through. */
const FAULT_POINTS: readonly FaultPointName[] = [
  "orchestration:before-commit",
  "orchestration:after-commit",
  "activity:before-run",
  "activity:before-complete",
  "activity:after-complete",
];

/** How long an armed worker may take to reach its fault point. */
const CRASH_TIMEOUT_MS = 30_000;
const FINISH_TIMEOUT_MS = 60_000;

/** Two chains and two fan-outs. */
const PLANNED = planInstances(8).filter((p) => p.kind === "chain" || p.kind === "fanout");

describe("recovery from a crash at each fault point", () => {
  const cleanups: (() => Promise<void>)[] = [];

  after(async () => {
    await killAllWorkers();
    for (const cleanup of cleanups) await cleanup();
  });

  for (const point of FAULT_POINTS) {
    test(
      `a worker killed at ${point} loses nothing`,
      { timeout: CRASH_TIMEOUT_MS + FINISH_TIMEOUT_MS + 30_000 },
      async (t) => {
        const run = startSqliteRun("refrain-fault-");
        cleanups.push(run.cleanup);
        const { store, countsFile, client } = run;
        const ids = PLANNED.map((p) => p.instanceId);
        for (const p of PLANNED) {
          await client.startNew(ORCHESTRATOR_NAMES[p.kind], { input: p.input, instanceId: p.instanceId });
        }

        const armed = WorkerProcess.spawn(store, countsFile, {
          REFRAIN_FAULT_POINTS: point,
          REFRAIN_FAULT_PROBABILITY: "1",
        });
        let crashTimer: NodeJS.Timeout | undefined;
        const crashed = await Promise.race([
          armed.exited,
          new Promise<undefined>((resolve) => {
            crashTimer = setTimeout(() => resolve(undefined), CRASH_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(crashTimer);
        assert.ok(crashed, `the worker never reached ${point} within ${CRASH_TIMEOUT_MS} ms`);
        assert.equal(
          crashed.signal,
          "SIGKILL",
          `worker ended with ${describeExit(crashed)}: ${armed.stderr}`,
        );
        const finishedAtCrash = await countTerminal(client, ids);
        assert.ok(finishedAtCrash < ids.length, "the crash came before the work was done");

        const worker = WorkerProcess.spawn(store, countsFile);
        await worker.ready;
        await waitAllTerminal(client, ids, FINISH_TIMEOUT_MS);
        const exit = await worker.stop();
        assert.equal(exit.code, 0, `the restarted worker did not stop cleanly: ${worker.stderr}`);

        const report = await verifyRecovery(client, PLANNED, { store, countsFile });
        if (point === "activity:before-complete") {
          assert.ok(report.redelivered.length >= 1, "the activity whose completion was lost ran again");
        }
        t.diagnostic(
          `${finishedAtCrash}/${ids.length} finished at the crash; ${report.activityExecutions} executions of ` +
            `${report.activitiesScheduled} activities, ${report.redelivered.length} redelivered`,
        );
      },
    );
  }
});
