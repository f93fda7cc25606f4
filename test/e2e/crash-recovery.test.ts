/**
 * The crash test: a mixed workload (chains, fan-outs, timers, external events, sub-orchestrations,
 * retries) served by a worker process that is killed with SIGKILL at random moments and restarted,
 * again and again; then every instance must have the oracle's output, clean histories, and every
 * activity must have run at least once. Kill delays come from a seeded PRNG: the seed is printed,
 * REFRAIN_SEED replays it, REFRAIN_SOAK=1 runs a longer variant.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  chooseSeed,
  countTerminal,
  engineErrors,
  killAllWorkers,
  seededRandom,
  WorkerProcess,
  waitAllTerminal,
} from "./harness.js";
import { rawStore } from "./raw-store.js";
import { type SqliteRun, startSqliteRun } from "./sqlite-run.js";

import { readExecutionCounts, verifyRecovery } from "./verify.js";
import { APPROVAL_EVENT, approvalData, ORCHESTRATOR_NAMES, planInstances } from "./workload.js";

const SOAK = process.env.REFRAIN_SOAK === "1";
const INSTANCE_COUNT = SOAK ? 300 : 50;
const KILL_COUNT = SOAK ? 30 : 6;
/**
 * Instances start in this many waves of equal size: the first before any worker runs, the others
 * right after worker 1, 2, … is ready, so later kills still find fresh work.
 */
const START_WAVES = SOAK ? 15 : 2;
/** From this kill on, the events awaited by the instances started so far are raised after each kill. */
const RAISE_EVENTS_FROM_KILL = 2;
const FINISH_TIMEOUT_MS = SOAK ? 300_000 : 90_000;
const MIN_KILL_DELAY_MS = 150;
const MAX_KILL_DELAY_MS = 700;

function totalExecutions(countsFile: string): number {
  return [...readExecutionCounts(countsFile).values()].reduce((a, b) => a + b, 0);
}

describe("crash recovery with real worker processes", () => {
  let run: SqliteRun;

  before(() => {
    run = startSqliteRun("refrain-crash-");
  });

  after(async () => {
    await killAllWorkers();
    await run.cleanup();
  });

  test(
    `${INSTANCE_COUNT} mixed instances survive ${KILL_COUNT} SIGKILLs of their worker`,
    { timeout: FINISH_TIMEOUT_MS + 120_000 },
    async (t) => {
      const seed = chooseSeed();
      const random = seededRandom(seed);
      t.diagnostic(`seed ${seed} (replay with REFRAIN_SEED=${seed})`);
      const startedAt = Date.now();
      const { store, countsFile, client } = run;
      const planned = planInstances(INSTANCE_COUNT);
      const ids = planned.map((p) => p.instanceId);
      const waveSize = Math.ceil(INSTANCE_COUNT / START_WAVES);
      let started = 0;
      const startWave = async () => {
        for (const p of planned.slice(started, started + waveSize)) {
          await client.startNew(ORCHESTRATOR_NAMES[p.kind], { input: p.input, instanceId: p.instanceId });
        }
        started = Math.min(started + waveSize, INSTANCE_COUNT);
      };
      let raised = 0;
      const raiseEvents = async () => {
        for (const p of planned.slice(raised, started).filter((q) => q.kind === "event")) {
          await client.raiseEvent(p.instanceId, APPROVAL_EVENT, approvalData(p.input));
        }
        raised = started;
      };
      await startWave();

      const stderr: string[] = [];
      let finishedAtFirstKill = -1;
      let midWorkKills = 0;
      for (let kill = 1; kill <= KILL_COUNT; kill++) {
        const rowsBefore = await rawStore(store).historyRowCount();
        const executionsBefore = totalExecutions(countsFile);
        const worker = WorkerProcess.spawn(store, countsFile);
        await worker.ready;
        if (started < INSTANCE_COUNT) await startWave();
        const delay = MIN_KILL_DELAY_MS + Math.floor(random() * (MAX_KILL_DELAY_MS - MIN_KILL_DELAY_MS + 1));
        await sleep(delay);
        const exit = await worker.kill();
        stderr.push(worker.stderr);
        assert.equal(exit.signal, "SIGKILL", `worker ${kill} died on its own: ${worker.stderr}`);
        const finished = await countTerminal(client, ids);
        const rows = (await rawStore(store).historyRowCount()) - rowsBefore;
        const executions = totalExecutions(countsFile) - executionsBefore;
        if (kill === 1) finishedAtFirstKill = finished;
        if (finished < INSTANCE_COUNT && rows + executions > 0) midWorkKills++;
        t.diagnostic(
          `kill ${kill} after ${delay} ms: ${finished}/${INSTANCE_COUNT} finished; this worker wrote ` +
            `${rows} history rows and ran ${executions} activities`,
        );
        if (kill >= RAISE_EVENTS_FROM_KILL) await raiseEvents();
      }
      assert.equal(raised, INSTANCE_COUNT, "every instance was started and every event raised");
      assert.ok(finishedAtFirstKill < INSTANCE_COUNT, "the first kill came before the work was done");
      assert.ok(midWorkKills >= 1, "at least one worker was killed while it was doing work");

      const last = WorkerProcess.spawn(store, countsFile);
      await last.ready;
      await waitAllTerminal(client, ids, FINISH_TIMEOUT_MS);
      const exit = await last.stop();
      stderr.push(last.stderr);
      assert.equal(exit.code, 0, `the last worker did not stop cleanly: ${last.stderr}`);

      const report = await verifyRecovery(client, planned, { store, countsFile });
      const errors = stderr.flatMap(engineErrors);
      t.diagnostic(
        `${report.instances} instances (children included), ${report.raw.historyRows} history rows, ` +
          `${report.activitiesScheduled} activities scheduled, ${report.activityExecutions} executions, ` +
          `${report.redelivered.length} ran more than once (at-least-once redeliveries)`,
      );
      t.diagnostic(`${midWorkKills}/${KILL_COUNT} kills hit a worker mid-work; ${Date.now() - startedAt} ms`);
      if (errors.length > 0) t.diagnostic(`engine errors in worker logs:\n${errors.slice(0, 10).join("\n")}`);
    },
  );
});
