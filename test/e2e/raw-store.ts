/**
 * Reads a crash test's store tables directly, bypassing the Store code under test: the raw
 * history table (sequence numbers unique and contiguous per execution), what is left in the inbox
 * and activity tasks, progress counters, and the leases a worker holds. One reader per store kind,
 * each opening its own short-lived connection per call.
 */
import pg from "pg";
import { Database } from "../../src/store/sqlite/driver.js";
import type { StoreSpec } from "./store-spec.js";

/** What the raw tables say after a run. */
export interface RawStoreReport {
  problems: string[];
  executions: number;
  historyRows: number;
  leftoverTasks: number;
  leftoverMessages: number;
}

/** Direct, read-only access to a crash test's store tables. */
export interface RawStore {
  /** Checks every execution's sequence numbers and counts the activity tasks and messages left. */
  report(): Promise<RawStoreReport>;
  /** Rows in the history table: a measure of orchestration progress. */
  historyRowCount(): Promise<number>;
  /** Instances (sub-orchestrations included) that are Completed, Failed or Terminated. */
  terminalCount(): Promise<number>;
  /** Instance and activity leases recorded for `workerId`. */
  leasesHeldBy(workerId: string): Promise<number>;
}

/** One history row's key. */
interface HistoryKey {
  hub: string;
  instance_id: string;
  execution_id: string;
  seq: number;
}

/** Problems in history keys sorted by (hub, instance, execution, seq): a gap or a repeated seq. */
export function sequenceProblems(rows: readonly HistoryKey[]): { problems: string[]; executions: number } {
  const problems: string[] = [];
  const nextSeq = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.hub}/${row.instance_id}/${row.execution_id}`;
    const expected = nextSeq.get(key) ?? 0;
    if (row.seq !== expected) problems.push(`${key}: seq ${row.seq} where ${expected} was expected`);
    nextSeq.set(key, row.seq + 1);
  }
  return { problems, executions: nextSeq.size };
}

const TERMINAL = "runtime_status IN ('Completed', 'Failed', 'Terminated')";

/** The tables of a SQLite file, read through a read-only connection. */
function sqliteRawStore(path: string): RawStore {
  const read = <T>(fn: (db: InstanceType<typeof Database>) => T): Promise<T> => {
    const db = new Database(path, { readonly: true });
    try {
      return Promise.resolve(fn(db));
    } finally {
      db.close();
    }
  };
  const count = (db: InstanceType<typeof Database>, sql: string, ...params: string[]): number =>
    (db.prepare(sql).get(...params) as { n: number }).n;
  return {
    report: () =>
      read((db) => {
        // Rows find their instance by its history key; a row without one shows as a problem.
        const rows = db
          .prepare(
            `SELECT i.hub, i.instance_id, i.execution_id, h.seq FROM history h
             LEFT JOIN instances i ON i.history_key = h.history_key
             ORDER BY i.hub, i.instance_id, i.execution_id, h.seq`,
          )
          .all() as HistoryKey[];
        return {
          ...sequenceProblems(rows),
          historyRows: rows.length,
          leftoverTasks: count(db, "SELECT count(*) AS n FROM activity_tasks"),
          leftoverMessages: count(db, "SELECT count(*) AS n FROM inbox"),
        };
      }),
    historyRowCount: () => read((db) => count(db, "SELECT count(*) AS n FROM history")),
    terminalCount: () => read((db) => count(db, `SELECT count(*) AS n FROM instances WHERE ${TERMINAL}`)),
    leasesHeldBy: (workerId) =>
      read(
        (db) =>
          count(db, "SELECT count(*) AS n FROM instances WHERE lease_worker = ?", workerId) +
          count(db, "SELECT count(*) AS n FROM activity_tasks WHERE lease_worker = ?", workerId),
      ),
  };
}

/** The tables of a PostgreSQL schema, read through a connection of their own. */
function postgresRawStore(url: string, schema: string): RawStore {
  const s = `"${schema}"`;
  const read = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url, application_name: "rf-test-reader" });
    client.on("error", () => {});
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  const count = async (client: pg.Client, sql: string, params: string[] = []): Promise<number> =>
    Number((await client.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
  return {
    report: () =>
      read(async (client) => {
        const sql = `SELECT hub, instance_id, execution_id, seq FROM ${s}.history
          ORDER BY hub, instance_id COLLATE "C", execution_id COLLATE "C", seq`;
        const rows = (await client.query<HistoryKey>(sql)).rows;
        return {
          ...sequenceProblems(rows),
          historyRows: rows.length,
          leftoverTasks: await count(client, `SELECT count(*) AS n FROM ${s}.activity_tasks`),
          leftoverMessages: await count(client, `SELECT count(*) AS n FROM ${s}.inbox`),
        };
      }),
    historyRowCount: () => read((client) => count(client, `SELECT count(*) AS n FROM ${s}.history`)),
    terminalCount: () =>
      read((client) => count(client, `SELECT count(*) AS n FROM ${s}.instances WHERE ${TERMINAL}`)),
    leasesHeldBy: (workerId) =>
      read(
        async (client) =>
          (await count(client, `SELECT count(*) AS n FROM ${s}.instances WHERE lease_worker = $1`, [
            workerId,
          ])) +
          (await count(client, `SELECT count(*) AS n FROM ${s}.activity_tasks WHERE lease_worker = $1`, [
            workerId,
          ])),
      ),
  };
}

/** The raw reader of the store a spec names. */
export function rawStore(spec: StoreSpec): RawStore {
  return spec.kind === "sqlite" ? sqliteRawStore(spec.path) : postgresRawStore(spec.url, spec.schema);
}
