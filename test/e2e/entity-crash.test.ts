/**
 * Critical sections under crashes: 40 concurrent transfers between 5 account entities, each
 * lock → read both balances → write both, while the worker process is SIGKILLed at random moments
 * and restarted, again and again (on SQLite, and on PostgreSQL with two workers killed in turn);
 * then at each entity fault point. Afterwards the total is unchanged, every balance is the
 * oracle's, every transfer appears exactly once in both of its accounts' logs, and no lock is left.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FaultPointName } from "../../src/dispatch/faults.js";
import type { DurableClient } from "../../src/index.js";
import { describePostgres } from "../store-conformance/postgres-env.js";
import {
  ACCOUNTS,
  type AccountState,
  accountId,
  expectedBalances,
  OPENING_BALANCE,
  type PlannedTransfer,
  planTransfers,
} from "./bank-workload.js";
import {
  chooseSeed,
  countTerminal,
  describeExit,
  killAllWorkers,
  seededRandom,
  WorkerProcess,
  waitAllTerminal,
  waitForAsync,
} from "./harness.js";
import { startPostgresRun } from "./postgres-run.js";
import { startSqliteRun } from "./sqlite-run.js";
import type { StoreSpec } from "./store-spec.js";

const SOAK = process.env.REFRAIN_SOAK === "1";
const TRANSFERS = SOAK ? 120 : 40;
const KILL_COUNT = SOAK ? 20 : 5;
const FINISH_TIMEOUT_MS = SOAK ? 300_000 : 90_000;
const MIN_KILL_DELAY_MS = 50;
const MAX_KILL_DELAY_MS = 350;

async function startTransfers(client: DurableClient, planned: readonly PlannedTransfer[]): Promise<string[]> {
  for (const t of planned) await client.startNew("Transfer", { input: t, instanceId: t.instanceId });
  return planned.map((t) => t.instanceId);
}

/** Asserts the bank's books: the oracle's balances, each transfer logged once per account, no lock left. */
async function verifyBooks(client: DurableClient, planned: readonly PlannedTransfer[]): Promise<void> {
  const statuses = await waitAllTerminal(
    client,
    planned.map((t) => t.instanceId),
    FINISH_TIMEOUT_MS,
  );
  for (const [id, status] of statuses) {
    assert.equal(status.runtimeStatus, "Completed", `${id}: ${JSON.stringify(status.failureDetails)}`);
  }
  const expected = expectedBalances(planned);
  let total = 0;
  for (const key of ACCOUNTS) {
    const { entityExists, entityState } = await client.readEntityState<AccountState>(accountId(key));
    const state = entityExists ? entityState! : { balance: OPENING_BALANCE, applied: [] };
    total += state.balance;
    assert.equal(state.balance, expected.get(key), `balance of ${key}`);
    const mine = planned.filter((t) => t.from === key || t.to === key).map((t) => t.instanceId);
    assert.deepEqual(
      [...state.applied].sort(),
      [...mine].sort(),
      `${key} applied each of its transfers once`,
    );
  }
  assert.equal(total, OPENING_BALANCE * ACCOUNTS.length, "money is neither created nor destroyed");
  await waitForAsync(
    async () => {
      const { entities } = await client.listEntities({ includeTransient: true });
      return entities.every((e) => e.lockedBy === undefined && e.backlogQueueSize === 0);
    },
    10_000,
    "every lock to be released",
  );
}

/**
 * Starts every transfer at once (the most contention for the locks), then kills one of `slots`
 * workers (the first time right after the first transfer finished, then at random moments),
 * restarting it each time. Returns how many kills came while some transfer was unfinished.
 */
async function killRepeatedly(
  store: StoreSpec,
  countsFile: string,
  client: DurableClient,
  planned: readonly PlannedTransfer[],
  slots: number,
  log: (line: string) => void,
): Promise<number> {
  const seed = chooseSeed();
  log(`seed ${seed} (replay with REFRAIN_SEED=${seed})`);
  const random = seededRandom(seed);
  const ids = await startTransfers(client, planned);
  const workers = Array.from({ length: slots }, () => WorkerProcess.spawn(store, countsFile));
  await Promise.all(workers.map((w) => w.ready));
  let early = 0;
  for (let kill = 1; kill <= KILL_COUNT; kill++) {
    let delay = MIN_KILL_DELAY_MS + Math.floor(random() * (MAX_KILL_DELAY_MS - MIN_KILL_DELAY_MS + 1));
    if (kill === 1) {
      // The first kill comes as soon as the first transfer finished, so at least one lands mid-work
      // however fast the workers are; the later ones at random moments.
      const startedAt = Date.now();
      await waitForAsync(
        async () => (await countTerminal(client, ids)) > 0,
        FINISH_TIMEOUT_MS,
        "a transfer to finish",
      );
      delay = Date.now() - startedAt;
    } else {
      await sleep(delay);
    }
    const slot = kill % slots;
    const exit = await workers[slot]!.kill();
    assert.equal(exit.signal, "SIGKILL", `worker died on its own: ${workers[slot]!.stderr}`);
    const finished = await countTerminal(client, ids);
    if (finished < ids.length) early++;
    log(`kill ${kill} (slot ${slot}) after ${delay} ms: ${finished}/${ids.length} transfers finished`);
    workers[slot] = WorkerProcess.spawn(store, countsFile);
    await workers[slot].ready;
  }
  await waitAllTerminal(client, ids, FINISH_TIMEOUT_MS);
  for (const worker of workers) {
    const exit = await worker.stop();
    assert.equal(exit.code, 0, `a worker did not stop cleanly: ${worker.stderr}`);
  }
  return early;
}

describe("critical sections survive SIGKILLed workers (SQLite)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await killAllWorkers();
    for (const cleanup of cleanups) await cleanup();
  });

  test(
    `${TRANSFERS} transfers over 5 accounts survive ${KILL_COUNT} SIGKILLs`,
    { timeout: FINISH_TIMEOUT_MS + 60_000 },
    async (t) => {
      const run = startSqliteRun("refrain-bank-");
      cleanups.push(run.cleanup);
      const planned = planTransfers(TRANSFERS);
      const early = await killRepeatedly(run.store, run.countsFile, run.client, planned, 1, (l) =>
        t.diagnostic(l),
      );
      assert.ok(early >= 1, "at least one kill came while transfers were running");
      await verifyBooks(run.client, planned);
    },
  );

  const points: readonly FaultPointName[] = ["entity:before-commit", "entity:after-commit"];
  for (const point of points) {
    test(
      `workers crashing at ${point} lose and duplicate nothing`,
      { timeout: FINISH_TIMEOUT_MS + 60_000 },
      async (t) => {
        const run = startSqliteRun("refrain-bank-fault-");
        cleanups.push(run.cleanup);
        const planned = planTransfers(8);
        const ids = await startTransfers(run.client, planned);
        let crashes = 0;
        const deadline = Date.now() + FINISH_TIMEOUT_MS;
        while ((await countTerminal(run.client, ids)) < ids.length && Date.now() < deadline) {
          const armed = WorkerProcess.spawn(run.store, run.countsFile, {
            REFRAIN_FAULT_POINTS: point,
            REFRAIN_FAULT_PROBABILITY: "0.2",
          });
          const exit = await Promise.race([armed.exited, sleep(3_000).then(() => undefined)]);
          if (exit) {
            assert.equal(
              exit.signal,
              "SIGKILL",
              `armed worker ended with ${describeExit(exit)}: ${armed.stderr}`,
            );
            crashes++;
          } else {
            await armed.kill();
          }
        }
        t.diagnostic(`${crashes} crashes at ${point}`);
        assert.ok(crashes >= 1, `no worker ever crashed at ${point}`);
        const worker = WorkerProcess.spawn(run.store, run.countsFile);
        await worker.ready;
        await verifyBooks(run.client, planned);
        assert.equal((await worker.stop()).code, 0);
      },
    );
  }
});

await describePostgres("critical sections survive SIGKILLed workers (PostgreSQL, two workers)", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await killAllWorkers();
    for (const cleanup of cleanups) await cleanup();
  });

  test(
    `${TRANSFERS} transfers over 5 accounts survive ${KILL_COUNT} SIGKILLs of two workers`,
    { timeout: FINISH_TIMEOUT_MS + 60_000 },
    async (t) => {
      const run = await startPostgresRun("refrain-bank-pg-");
      cleanups.push(run.cleanup);
      const planned = planTransfers(TRANSFERS);
      await killRepeatedly(run.store, run.countsFile, run.client, planned, 2, (l) => t.diagnostic(l));
      await verifyBooks(run.client, planned);
    },
  );
});
