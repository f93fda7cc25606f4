/**
 * Every SQL statement the SQLite store runs, prepared once per connection and reused, plus the
 * row types they return and their mapping to Store records. Name lists are passed as one JSON
 * array parameter (`IN (SELECT value FROM json_each(?))`) so each statement stays fixed.
 */
import type BetterSqlite3 from "better-sqlite3";
import type { HistoryEvent } from "../../core/events.js";
import { inboxKindsOf } from "../common.js";
import type { InboxColumns, InstanceColumns, TaskColumns } from "../rows.js";
import { INBOX_KIND } from "./schema.js";

/** A row of `instances`. */
export interface InstanceRow extends InstanceColumns {
  hub: string;
  created_at: number;
  last_updated_at: number;
  completed_at: number | null;
  lease_worker: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  /** Finds the instance's history rows; unique in the file, assigned when the row is inserted. */
  history_key: number;
}

/** The columns of an `instances` row that decide about a write (`instanceState`). */
export type InstanceState = Pick<
  InstanceRow,
  "instance_id" | "execution_id" | "runtime_status" | "lease_token" | "lease_expires_at" | "history_key"
>;

/** What `setLease` returns of the row it leases. */
export type LeasedInstanceRow = InstanceColumns & Pick<InstanceRow, "history_key">;

/** A row of `inbox`. */
export interface InboxRow extends InboxColumns {
  id: number;
  hub: string;
  visible_at: number;
}

/** A row of `activity_tasks`. */
export interface TaskRow extends TaskColumns {
  id: number;
  hub: string;
  visible_at: number;
  lease_worker: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
}

/** Parses one stored history event. */
export function toHistoryEvent(row: { event: string }): HistoryEvent {
  return JSON.parse(row.event) as HistoryEvent;
}

const NAME_IN = "IN (SELECT value FROM json_each(?))";
/** The inbox kind expression on the alias `m`. */
const M_KIND = INBOX_KIND.replace("instance_id", "m.instance_id");
const TERMINAL = "('Completed', 'Failed', 'Terminated')";
/** What a checkpoint sets on its instance's row besides execution and status; releases the lease. */
const STEP_COLUMNS = `input = CASE WHEN ? THEN ? ELSE input END, output = ?, custom_status = ?, failure = ?,
         last_updated_at = ?, completed_at = ?, lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL`;
/** What a fenced checkpoint update returns: the history key and the history's largest seq. */
const HELD_RETURNING = `RETURNING history_key,
         (SELECT MAX(seq) FROM history h WHERE h.history_key = instances.history_key) AS max_seq`;
const FILTER = `hub = @hub
  AND (@createdFrom IS NULL OR created_at >= @createdFrom)
  AND (@createdTo IS NULL OR created_at < @createdTo)
  AND (@statuses IS NULL OR runtime_status IN (SELECT value FROM json_each(@statuses)))
  AND (@prefix IS NULL OR substr(instance_id, 1, length(@prefix)) = @prefix)
  AND (@kind IS NULL OR (substr(instance_id, 1, 1) = '@') = (@kind = 'entity'))`;

/** The SQL text of every statement, by name. */
const SQL = {
  // Instances.
  getInstance: "SELECT * FROM instances WHERE hub = ? AND instance_id = ?",
  // The columns that decide about a write, without the (possibly large) payloads.
  instanceState: `SELECT instance_id, execution_id, runtime_status, lease_token, lease_expires_at, history_key
       FROM instances WHERE hub = ? AND instance_id = ?`,
  // What decides whether a following step applies, in one statement: the row's state, whether a
  // message is visible, and the history's length (the largest seq, NULL when empty).
  followingStepState: `SELECT instance_id, execution_id, runtime_status, lease_token, lease_expires_at, history_key,
         EXISTS (SELECT 1 FROM inbox m WHERE m.hub = i.hub AND m.instance_id = i.instance_id AND m.visible_at <= ?)
           AS has_visible_message,
         (SELECT MAX(seq) FROM history h WHERE h.history_key = i.history_key) AS max_seq
       FROM instances i WHERE hub = ? AND instance_id = ?`,
  // The history key is the rowid: SQLite assigns one past the largest in the file.
  insertInstance: `INSERT INTO instances (hub, instance_id, name, execution_id, runtime_status, input, parent, created_at,
         last_updated_at) VALUES (?, ?, ?, ?, 'Pending', ?, ?, ?, ?)
       RETURNING history_key`,
  deleteInstance: "DELETE FROM instances WHERE hub = ? AND instance_id = ?",
  ensureInstance: `INSERT OR IGNORE INTO instances (hub, instance_id, name, execution_id, runtime_status, created_at,
         last_updated_at) VALUES (?, ?, ?, ?, 'Pending', ?, ?)`,
  setStatus: "UPDATE instances SET runtime_status = ?, last_updated_at = ? WHERE hub = ? AND instance_id = ?",
  updateInstance: `UPDATE instances SET execution_id = ?, runtime_status = ?, ${STEP_COLUMNS}
       WHERE hub = ? AND instance_id = ?`,
  // The same for a step that keeps the status: SQLite then leaves the status index alone (it
  // rewrites an index whenever one of its columns is SET, even to the same value).
  updateInstanceSameStatus: `UPDATE instances SET execution_id = ?, ${STEP_COLUMNS}
       WHERE hub = ? AND instance_id = ?`,
  // The same two, fenced by the lease token and the status (equal, or different, to the new one),
  // returning what the rest of the checkpoint needs: no row means the lease (or status) differs.
  updateHeldStatus: `UPDATE instances SET execution_id = ?, runtime_status = ?, ${STEP_COLUMNS}
       WHERE hub = ? AND instance_id = ? AND lease_token = ? AND runtime_status <> ? ${HELD_RETURNING}`,
  updateHeldSameStatus: `UPDATE instances SET execution_id = ?, ${STEP_COLUMNS}
       WHERE hub = ? AND instance_id = ? AND lease_token = ? AND runtime_status = ? ${HELD_RETURNING}`,
  // Leases the row and returns what a work item needs of it, in one lookup.
  setLease: `UPDATE instances SET lease_worker = ?, lease_token = ?, lease_expires_at = ? WHERE hub = ? AND instance_id = ?
       RETURNING instance_id, name, execution_id, runtime_status, input, output, custom_status, failure, parent,
         created_at, last_updated_at, completed_at, history_key`,
  renewLease:
    "UPDATE instances SET lease_expires_at = ? WHERE hub = ? AND instance_id = ? AND lease_token = ?",
  clearLease: `UPDATE instances SET lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
       WHERE hub = ? AND instance_id = ? AND lease_token = ?`,
  listInstances: `SELECT * FROM instances WHERE ${FILTER}
         AND (@afterCreated IS NULL OR created_at > @afterCreated
              OR (created_at = @afterCreated AND instance_id > @afterId))
       ORDER BY created_at, instance_id LIMIT @limit`,
  purgeCandidates: `SELECT instance_id FROM instances WHERE ${FILTER} AND runtime_status IN ${TERMINAL}`,
  // History.
  maxSeq: "SELECT MAX(seq) AS seq FROM history WHERE history_key = ?",
  readHistory: "SELECT event FROM history WHERE history_key = ? ORDER BY seq",
  deleteHistory: "DELETE FROM history WHERE history_key = ?",
  // Before the instance row goes.
  deleteInstanceHistory: `DELETE FROM history
       WHERE history_key = (SELECT history_key FROM instances WHERE hub = ? AND instance_id = ?)`,
  // Inbox.
  insertMessage:
    "INSERT INTO inbox (hub, instance_id, execution_id, event, visible_at) VALUES (?, ?, ?, ?, ?)",
  // The first `limit` eligible messages of one kind (see INBOX_KIND) after a (visible_at, id) cursor.
  nextOrchestrations: `SELECT m.instance_id AS instanceId, m.visible_at AS visibleAt, m.id AS id,
         i.instance_id IS NOT NULL AS hasRow FROM inbox m
       LEFT JOIN instances i ON i.hub = m.hub AND i.instance_id = m.instance_id
       WHERE m.hub = ? AND ${M_KIND} = ? AND m.visible_at <= ? AND (m.visible_at, m.id) > (?, ?)
         AND (i.instance_id IS NULL
              OR (i.name ${NAME_IN} AND (i.lease_token IS NULL OR i.lease_expires_at <= ?)))
       ORDER BY m.visible_at, m.id LIMIT ?`,
  visibleMessages:
    "SELECT * FROM inbox WHERE hub = ? AND instance_id = ? AND visible_at <= ? ORDER BY visible_at, id",
  hasMessages: "SELECT 1 FROM inbox WHERE hub = ? AND instance_id = ? LIMIT 1",
  firstMessageAt: "SELECT MIN(visible_at) AS at FROM inbox WHERE hub = ? AND instance_id = ?",
  // The visible time of the instance's first message after a given time (NULL: none).
  nextMessageAfter:
    "SELECT MIN(visible_at) AS t FROM inbox WHERE hub = ? AND instance_id = ? AND visible_at > ?",
  // Grows with every message inserted, by any connection; never shrinks (see HeldMessages).
  inboxSeq: "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'inbox'), 0) AS seq",
  deleteMessage: "DELETE FROM inbox WHERE hub = ? AND instance_id = ? AND id = ?",
  deleteInbox: "DELETE FROM inbox WHERE hub = ? AND instance_id = ?",
  delayMessages: "UPDATE inbox SET visible_at = ? WHERE hub = ? AND instance_id = ? AND visible_at <= ?",
  // Activity tasks.
  insertTask: `INSERT INTO activity_tasks (hub, instance_id, execution_id, task_id, name, input, attempt, visible_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  insertClaimedTask: `INSERT INTO activity_tasks (hub, instance_id, execution_id, task_id, name, input, attempt, visible_at,
         delivery_count, lease_worker, lease_token, lease_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
  nextTask: `SELECT * FROM activity_tasks WHERE hub = ? AND visible_at <= ?
         AND (lease_token IS NULL OR lease_expires_at <= ?) AND name ${NAME_IN}
       ORDER BY visible_at, id LIMIT ?`,
  leaseTask: `UPDATE activity_tasks SET lease_worker = ?, lease_token = ?, lease_expires_at = ?,
         delivery_count = delivery_count + 1 WHERE hub = ? AND id = ?`,
  // Deletes a task only while the lease holds it; returns what its completion needs.
  takeTask: `DELETE FROM activity_tasks WHERE hub = ? AND id = ? AND lease_token = ?
       RETURNING instance_id, execution_id`,
  deleteTasks: "DELETE FROM activity_tasks WHERE hub = ? AND instance_id = ?",
  renewTask: "UPDATE activity_tasks SET lease_expires_at = ? WHERE hub = ? AND id = ? AND lease_token = ?",
  abandonTask: `UPDATE activity_tasks SET lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL, visible_at = ?
       WHERE hub = ? AND id = ? AND lease_token = ?`,
  // Wake-ups: work held by a lease that outlasts its visible time is left out (see nextWakeUp).
  // Earliest first, through the visible-time index: the join order is forced (CROSS JOIN), else
  // the planner starts from every instance of the hub.
  nextMessageTime: `SELECT m.visible_at AS t FROM inbox m
       CROSS JOIN instances i ON i.hub = m.hub AND i.instance_id = m.instance_id
       WHERE m.hub = ? AND ${M_KIND} = ? AND i.name ${NAME_IN}
         AND (i.lease_token IS NULL OR i.lease_expires_at <= m.visible_at)
       ORDER BY m.visible_at, m.id LIMIT 1`,
  nextTaskTime: `SELECT visible_at AS t FROM activity_tasks WHERE hub = ? AND name ${NAME_IN}
         AND (lease_token IS NULL OR lease_expires_at <= visible_at)
       ORDER BY visible_at, id LIMIT 1`,
  dueMessages: `SELECT COUNT(*) AS n, MIN(visible_at) AS oldest FROM inbox
       WHERE hub = ? AND ${INBOX_KIND} IN (0, 1) AND visible_at <= ?`,
  dueTasks:
    "SELECT COUNT(*) AS n, MIN(visible_at) AS oldest FROM activity_tasks WHERE hub = ? AND visible_at <= ?",
};

/** The values of `INBOX_KIND`: 0 for orchestrations, 1 for entities. */
export type InboxKind = 0 | 1;

/** The inbox kinds whose instances can carry one of `names` (see `inboxKindsOf`), as SQLite values. */
export function inboxKinds(names: readonly string[]): InboxKind[] {
  return inboxKindsOf(names).map((entities) => (entities ? 1 : 0));
}

/** The prepared statements of one connection, by name, plus `dataVersion` (a number). */
export type Statements = { [K in keyof typeof SQL]: BetterSqlite3.Statement } & {
  /** SQLite's `data_version`: changes whenever another connection commits. */
  dataVersion: BetterSqlite3.Statement;
  /** `insertHistoryRows[n - 1]` inserts n history rows (n = 1…HISTORY_ROWS_PER_INSERT). */
  insertHistoryRows: BetterSqlite3.Statement[];
};

/** The most history rows one prepared insert writes; a step writes 3–4 events as a rule. */
export const HISTORY_ROWS_PER_INSERT = 8;

/** Prepares every statement of the store once, on this connection. */
export function prepareStatements(db: BetterSqlite3.Database): Statements {
  const out: Partial<Statements> = {};
  for (const key of Object.keys(SQL) as (keyof typeof SQL)[]) out[key] = db.prepare(SQL[key]);
  out.dataVersion = db.prepare("PRAGMA data_version").pluck();
  out.insertHistoryRows = Array.from({ length: HISTORY_ROWS_PER_INSERT }, (_, i) =>
    db.prepare(
      `INSERT INTO history (history_key, seq, event) VALUES ${Array(i + 1)
        .fill("(?, ?, ?)")
        .join(", ")}`,
    ),
  );
  return out as Statements;
}
