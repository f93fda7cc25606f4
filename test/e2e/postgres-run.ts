/**
 * The shared set-up of the PostgreSQL crash tests: a fresh schema in the test database, a temp
 * directory for the activity counts file, a client-only hub on the schema, the raw-table reader,
 * and a cleanup that drops the schema and the directory. Also starting a planned workload quickly
 * (in parallel batches, each "event" instance's approval raised right after its start) and
 * terminating the backends of the workers by their application name.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DurableClient, PostgresStore, TaskHub } from "../../src/index.js";
import {
  adminQuery,
  dropSchema,
  randomSchema,
  TEST_DATABASE_URL,
} from "../store-conformance/postgres-env.js";
import { type RawStore, rawStore } from "./raw-store.js";
import { postgresSpec, type StoreSpec, workerApplicationName } from "./store-spec.js";
import {
  APPROVAL_EVENT,
  approvalData,
  EXPECTED_SCHEDULED,
  ORCHESTRATOR_NAMES,
  type PlannedInstance,
} from "./workload.js";

/** One test's schema, counts file and client. */
export interface PostgresRun {
  schema: string;
  store: StoreSpec;
  countsFile: string;
  client: DurableClient;
  raw: RawStore;
  /** Stops the client hub, drops the schema and deletes the temp directory. */
  cleanup(): Promise<void>;
}

/** Creates the schema (through the client hub's store) and the temp directory. */
export async function startPostgresRun(prefix: string): Promise<PostgresRun> {
  const schema = randomSchema();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const clientHub = new TaskHub({
    store: new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, pool: { max: 4 } }),
  });
  const cleanup = async (): Promise<void> => {
    try {
      await clientHub.stop();
    } finally {
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    await clientHub.store.open();
  } catch (err) {
    await cleanup();
    throw err;
  }
  const store = postgresSpec(TEST_DATABASE_URL, schema);
  return {
    schema,
    store,
    countsFile: join(dir, "activity-executions.log"),
    client: clientHub.client,
    raw: rawStore(store),
    cleanup,
  };
}

/** Instances `planned` creates in all, sub-orchestrations included. */
export function totalInstances(planned: readonly PlannedInstance[]): number {
  const parents = planned.filter((p) => p.kind === "parent").length;
  return planned.length + parents * EXPECTED_SCHEDULED.parent.children;
}

const START_BATCH = 20;

/** Starts `planned` in parallel batches; raises each "event" instance's approval right after its start. */
export async function startPlanned(
  client: DurableClient,
  planned: readonly PlannedInstance[],
): Promise<void> {
  for (let i = 0; i < planned.length; i += START_BATCH) {
    await Promise.all(
      planned.slice(i, i + START_BATCH).map(async (p) => {
        await client.startNew(ORCHESTRATOR_NAMES[p.kind], { input: p.input, instanceId: p.instanceId });
        if (p.kind === "event") await client.raiseEvent(p.instanceId, APPROVAL_EVENT, approvalData(p.input));
      }),
    );
  }
}

/** Terminates every backend of the workers on `schema` (pool and LISTEN connections); returns how many. */
export async function terminateWorkerBackends(schema: string): Promise<number> {
  const { rows } = await adminQuery(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::integer AS n
       FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
    [workerApplicationName(schema)],
  );
  return (rows[0] as { n: number } | undefined)?.n ?? 0;
}
