/**
 * Lost connections on PostgreSQL: while three worker processes run a mixed workload, every backend
 * they have (pool connections and the LISTEN connection; found by the application name the workers
 * connect with) is killed with pg_terminate_backend, again and again. The store retries the calls
 * that failed and the change feed reconnects; in the end every instance has the oracle's output,
 * every scheduled task exactly one completion, the raw history table unique and contiguous
 * sequence numbers, and nothing is left behind. REFRAIN_SOAK=1 runs more instances and rounds.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { describePostgres } from "../store-conformance/postgres-env.js";
import { engineErrors, killAllWorkers, WorkerProcess, waitAllTerminal } from "./harness.js";
import {
  type PostgresRun,
  startPlanned,
  startPostgresRun,
  terminateWorkerBackends,
  totalInstances,
} from "./postgres-run.js";
import { verifyRecovery } from "./verify.js";
import { planInstances } from "./workload.js";

const SOAK = process.env.REFRAIN_SOAK === "1";
const INSTANCE_COUNT = SOAK ? 900 : 150;
const WORKER_COUNT = 3;
/**
 * Rounds of terminations, and the pause before each: short, so that several rounds fall while the
 * workers are busy (the whole workload takes under a second here).
 */
const ROUNDS = SOAK ? 120 : 12;
const ROUND_INTERVAL_MS = 100;
/** Rounds that must hit live backends while instances were still unfinished. */
const MIN_MID_RUN_ROUNDS = 3;
const FINISH_TIMEOUT_MS = SOAK ? 300_000 : 60_000;

await describePostgres("PostgreSQL: workers whose connections are terminated", () => {
  let run: PostgresRun | undefined;

  before(async () => {
    run = await startPostgresRun("refrain-pg-faults-");
  });

  after(async () => {
    await killAllWorkers();
    await run?.cleanup();
  });

  test(
    `${INSTANCE_COUNT} mixed instances finish while their workers' backends are terminated ${ROUNDS} times`,
    { timeout: FINISH_TIMEOUT_MS + ROUNDS * ROUND_INTERVAL_MS + 60_000 },
    async (t) => {
      assert.ok(run);
      const { schema, store, countsFile, client, raw } = run;
      const startedAt = Date.now();
      const planned = planInstances(INSTANCE_COUNT);
      const total = totalInstances(planned);
      const workers = Array.from({ length: WORKER_COUNT }, () => WorkerProcess.spawn(store, countsFile));
      await Promise.all(workers.map((w) => w.ready));

      // Terminations run while the instances are being started too: the client is not targeted.
      const starting = startPlanned(client, planned);
      let midRun = 0;
      const rounds: string[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(ROUND_INTERVAL_MS);
        const terminated = await terminateWorkerBackends(schema);
        const finished = await raw.terminalCount();
        if (terminated > 0 && finished < total) midRun++;
        rounds.push(`${terminated}@${finished}`);
      }
      await starting;
      t.diagnostic(`terminated backends @ finished instances, per round: ${rounds.join(" ")} (of ${total})`);
      assert.ok(
        midRun >= MIN_MID_RUN_ROUNDS,
        `only ${midRun} rounds terminated backends while work was unfinished`,
      );

      await waitAllTerminal(
        client,
        planned.map((p) => p.instanceId),
        FINISH_TIMEOUT_MS,
      );
      const logs: string[] = [];
      for (const worker of workers) {
        const exit = await worker.stop();
        logs.push(worker.stderr);
        assert.equal(exit.code, 0, `a worker did not stop cleanly: ${worker.stderr}`);
      }

      const report = await verifyRecovery(client, planned, { store, countsFile });
      assert.equal(report.instances, total);
      t.diagnostic(
        `${report.instances} instances (children included), ${report.raw.historyRows} history rows, ` +
          `${report.activityExecutions} executions of ${report.activitiesScheduled} activities, ` +
          `${report.redelivered.length} ran more than once; ${Date.now() - startedAt} ms`,
      );
      const errors = logs.flatMap(engineErrors);
      if (errors.length > 0) t.diagnostic(`engine errors in worker logs:\n${errors.slice(0, 10).join("\n")}`);
    },
  );
});
