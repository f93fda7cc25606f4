/**
 * Scale-out on PostgreSQL with real processes: four worker processes share one database (a fresh
 * schema) and run a mixed workload (chains, fan-outs, timers, external events, sub-orchestrations,
 * retries). Two of them are killed with SIGKILL while they hold leases and are restarted; a third
 * freezes itself (SIGSTOP, at the fault point just before an orchestration commit) until its lease
 * has been taken over by another worker, then is thawed (SIGCONT): its late commit must be refused
 * with LeaseLostError ("lease lost" in its log) and the step redone by another worker. In the end
 * every instance has the oracle's output, every scheduled task exactly one completion, the raw
 * history table (read with its own connection) unique and contiguous sequence numbers, and nothing
 * is left in the inbox or the activity tasks. REFRAIN_SOAK=1 runs four times the instances.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { describePostgres } from "../store-conformance/postgres-env.js";
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
import { type PostgresRun, startPlanned, startPostgresRun, totalInstances } from "./postgres-run.js";
import { verifyRecovery } from "./verify.js";
import { planInstances } from "./workload.js";

const SOAK = process.env.REFRAIN_SOAK === "1";
const INSTANCE_COUNT = SOAK ? 1200 : 300;
const WORKER_COUNT = 4;
/**
 * The share of all instances finished before each SIGKILL. The victim is whichever worker (not the
 * frozen one) holds a lease first once that share is reached, so the kill lands mid-work however
 * fast the workers are.
 */
const KILL_AT_SHARES = [0.2, 0.35];
/** The slot of the worker that freezes itself before its first orchestration commit. */
const FROZEN_SLOT = 3;
const FREEZE_ENV = { REFRAIN_FAULT_POINTS: "orchestration:before-commit", REFRAIN_FAULT_ACTION: "pause" };
const STEP_TIMEOUT_MS = 30_000;
const FINISH_TIMEOUT_MS = SOAK ? 300_000 : 60_000;

await describePostgres("PostgreSQL: several worker processes share one database", () => {
  let run: PostgresRun | undefined;

  before(async () => {
    run = await startPostgresRun("refrain-pg-multi-");
  });

  after(async () => {
    await killAllWorkers();
    await run?.cleanup();
  });

  test(
    `${WORKER_COUNT} workers run ${INSTANCE_COUNT} mixed instances through 2 SIGKILLs and a frozen worker`,
    { timeout: FINISH_TIMEOUT_MS + 6 * STEP_TIMEOUT_MS },
    async (t) => {
      assert.ok(run);
      const { store, countsFile, client, raw } = run;
      const startedAt = Date.now();
      const planned = planInstances(INSTANCE_COUNT);
      const total = totalInstances(planned);
      const logs: string[] = [];
      const spawn = (env: Record<string, string> = {}) => WorkerProcess.spawn(store, countsFile, env);
      const workers = Array.from({ length: WORKER_COUNT }, (_, slot) =>
        spawn(slot === FROZEN_SLOT ? FREEZE_ENV : {}),
      );
      await Promise.all(workers.map((w) => w.ready));
      const frozen = workers[FROZEN_SLOT]!;

      await startPlanned(client, planned);
      t.diagnostic(`${planned.length} instances started after ${Date.now() - startedAt} ms`);
      await waitFor(
        () => frozen.isFrozen(),
        STEP_TIMEOUT_MS,
        `the armed worker never reached its commit; its log: ${frozen.stderr}`,
      );

      const replace = async (slot: number) => {
        const victim = workers[slot]!;
        const held = await raw.leasesHeldBy(victim.workerId);
        const finished = await raw.terminalCount();
        const exit = await victim.kill();
        logs.push(victim.stderr);
        assert.equal(exit.signal, "SIGKILL", `worker ${slot} died on its own: ${victim.stderr}`);
        // The replacement starts in the background: the next kill must not wait for it.
        workers[slot] = spawn();
        return { held, finished };
      };

      const leaseHolder = async (): Promise<number | undefined> => {
        for (const [slot, worker] of workers.entries()) {
          if (slot !== FROZEN_SLOT && (await raw.leasesHeldBy(worker.workerId)) > 0) return slot;
        }
        return undefined;
      };
      for (const [index, share] of KILL_AT_SHARES.entries()) {
        await waitForAsync(
          async () => (await raw.terminalCount()) >= share * total,
          FINISH_TIMEOUT_MS,
          `kill ${index + 1}: too few instances finished`,
        );
        let victim: number | undefined;
        await waitForAsync(
          async () => {
            victim = await leaseHolder();
            return victim !== undefined;
          },
          STEP_TIMEOUT_MS,
          `kill ${index + 1}: no worker held a lease`,
        );
        const { held, finished } = await replace(victim!);
        assert.ok(finished < total, `kill ${index + 1} came before the work was done`);
        t.diagnostic(`SIGKILL of worker ${victim} holding ${held} leases at ${finished}/${total} finished`);
      }

      // By now the frozen worker's lease has run out: wait until others took every lease it had.
      await waitForAsync(
        async () => (await raw.leasesHeldBy(frozen.workerId)) === 0,
        STEP_TIMEOUT_MS,
        "no worker took the frozen worker's leases over",
      );
      const refusedBefore = leaseLostLines(frozen.stderr);
      await thawUntil(
        frozen,
        () => frozen.stderr.includes("orchestration step discarded: lease lost"),
        STEP_TIMEOUT_MS,
        `the thawed worker's late commit was not refused; its log: ${frozen.stderr}`,
      );
      t.diagnostic(
        `frozen worker thawed: ${leaseLostLines(frozen.stderr) - refusedBefore} late commits refused`,
      );
      // It is armed to freeze again at its next commit; replace it with an unarmed worker.
      await replace(FROZEN_SLOT);

      await Promise.all(workers.map((w) => w.ready));
      await waitAllTerminal(
        client,
        planned.map((p) => p.instanceId),
        FINISH_TIMEOUT_MS,
      );
      for (const worker of workers) {
        const exit = await worker.stop();
        logs.push(worker.stderr);
        assert.equal(exit.code, 0, `a worker did not stop cleanly: ${worker.stderr}`);
      }

      const report = await verifyRecovery(client, planned, { store, countsFile });
      assert.equal(report.instances, total);
      t.diagnostic(
        `${report.instances} instances (children included), ${report.raw.historyRows} history rows, ` +
          `${report.activitiesScheduled} activities scheduled, ${report.activityExecutions} executions, ` +
          `${report.redelivered.length} ran more than once; ${Date.now() - startedAt} ms`,
      );
      const errors = logs.flatMap(engineErrors);
      if (errors.length > 0) t.diagnostic(`engine errors in worker logs:\n${errors.slice(0, 10).join("\n")}`);
    },
  );
});
