/**
 * The queries of the PostgreSQL store, one round trip each: a call of one of the schema's
 * PL/pgSQL functions or a single statement (data-modifying CTEs where a change spans tables).
 * Single statements run in their own implicit transaction, so there is never a half-done change
 * to roll back when a connection dies. Also the row types and their mapping to Store records.
 */
import type pg from "pg";
import type { HistoryEvent } from "../../core/events.js";
import { NotificationBatch, type PageCursor } from "../common.js";
import type { InstanceColumns } from "../rows.js";
import type { Checkpoint, InstanceFilter, NewInstance, NewMessage, StoreNotification } from "../store.js";
import { M_KIND } from "./plpgsql.js";

/** A row of `instances`; BIGINT columns arrive as strings from queries, numbers from JSON. */
export type InstanceRow = InstanceColumns;

/** A time in whole milliseconds, as BIGINT columns hold it (fractions round up). */
export const ms = (value: number): number => Math.ceil(value);

/** Parses a store-assigned numeric ID; undefined when it cannot be one of ours. */
export function parseId(id: string): string | undefined {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 && String(n) === id ? id : undefined;
}

/** A message as the schema's functions read it (event as JSON text). */
function messageJson(message: NewMessage): object {
  return {
    instanceId: message.instanceId,
    executionId: message.executionId,
    event: JSON.stringify(message.event),
    visibleAt: ms(message.visibleAt),
    ensureTarget: message.ensureTarget,
  };
}

/** A new instance as the schema's functions read it (start event and parent as JSON text). */
export function instanceJson(instance: NewInstance): object {
  return {
    instanceId: instance.instanceId,
    name: instance.name,
    executionId: instance.executionId,
    input: instance.input,
    parent: instance.parent === undefined ? undefined : JSON.stringify(instance.parent),
    createdAt: ms(instance.createdAt),
    started: JSON.stringify(instance.started),
    visibleAt: ms(instance.visibleAt),
  };
}

/** A message to add, as `refrain_append_message` reads it. */
export const appendJson = messageJson;

/** A checkpoint as `refrain_commit_orchestration` reads it. */
export function checkpointJson(checkpoint: Checkpoint): object {
  const u = checkpoint.instance;
  return {
    mode: checkpoint.history.mode,
    events: checkpoint.history.events.map((e: HistoryEvent) => JSON.stringify(e)),
    consumed: checkpoint.consumedMessageIds.map(parseId).filter((id) => id !== undefined),
    instance: {
      executionId: u.executionId,
      runtimeStatus: u.runtimeStatus,
      hasInput: Object.hasOwn(u, "input"),
      input: u.input,
      output: u.output,
      customStatus: u.customStatus,
      failure: u.failure === undefined ? undefined : JSON.stringify(u.failure),
      lastUpdatedAt: ms(u.lastUpdatedAt),
      completedAt: u.completedAt === undefined ? undefined : ms(u.completedAt),
    },
    activities: checkpoint.activities.map((t) => ({ ...t })),
    messages: checkpoint.messages.map(messageJson),
    children: checkpoint.children.map((c) => ({
      ...instanceJson(c),
      conflictReply: c.conflictReply ? messageJson(c.conflictReply) : undefined,
    })),
  };
}

/**
 * The notes a schema function returns, as Store notifications in the order every store emits
 * them (status changes, then orchestration work, then activity work), without duplicates.
 */
export function toNotifications(notes: unknown): StoreNotification[] {
  const batch = new NotificationBatch();
  for (const n of Array.isArray(notes) ? (notes as StoreNotification[]) : []) {
    if (n.kind === "instance-updated") batch.instanceUpdated(n.instanceId, n.runtimeStatus);
    else if (n.kind === "orchestration-work") batch.orchestrationWork(n.instanceId, n.visibleAt);
    else batch.activityWork();
  }
  return batch.toList();
}

const TERMINAL = "('Completed', 'Failed', 'Terminated')";
const CLAMP = 9e15;
const bound = (value: number | undefined): number | null =>
  value === undefined ? null : Math.max(-CLAMP, Math.min(CLAMP, ms(value)));

/**
 * The instance filter as SQL over `instances`, starting at parameter `$first` (the hub is $1).
 * Times round up to whole milliseconds, which keeps `>=` and `<` exact for integer columns.
 */
function filterSql(filter: InstanceFilter, first: number): { sql: string; params: unknown[] } {
  const p = (i: number): string => `$${first + i}`;
  return {
    sql: `hub = $1
      AND (${p(0)}::bigint IS NULL OR created_at >= ${p(0)})
      AND (${p(1)}::bigint IS NULL OR created_at < ${p(1)})
      AND (${p(2)}::text[] IS NULL OR runtime_status = ANY (${p(2)}))
      AND (${p(3)}::text IS NULL OR starts_with(instance_id, ${p(3)}))
      AND (${p(4)}::text IS NULL OR starts_with(instance_id, '@') = (${p(4)} = 'entity'))`,
    params: [
      bound(filter.createdFrom),
      bound(filter.createdTo),
      filter.runtimeStatus?.length ? filter.runtimeStatus : null,
      filter.instanceIdPrefix ?? null,
      filter.instanceKind ?? null,
    ],
  };
}

/** The SQL of every statement the store runs against schema `s` (a quoted identifier). */
export function statements(s: string) {
  return {
    appendMessage: `SELECT ${s}.refrain_append_message($1, $2::json, $3, $4, $5, $6, $7, $8) AS notes`,
    getInstances: `SELECT * FROM ${s}.instances WHERE hub = $1 AND instance_id = ANY ($2::text[])`,
    getHistory: `SELECT h.event FROM ${s}.history h
      JOIN ${s}.instances i ON i.hub = h.hub AND i.instance_id = h.instance_id AND i.execution_id = h.execution_id
      WHERE i.hub = $1 AND i.instance_id = $2 ORDER BY h.seq`,
    renewOrchestration: `UPDATE ${s}.instances SET lease_expires_at = $4
      WHERE hub = $1 AND instance_id = $2 AND lease_token = $3`,
    abandonOrchestration: `WITH released AS (
        UPDATE ${s}.instances SET lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE hub = $1 AND instance_id = $2 AND lease_token = $3 RETURNING instance_id),
      delayed AS (
        UPDATE ${s}.inbox SET visible_at = $5 WHERE $4 AND hub = $1 AND instance_id = $2 AND visible_at <= $6
          AND EXISTS (SELECT 1 FROM released))
      SELECT ${s}.refrain_notify($1, $7, jsonb_build_array(${s}.refrain_work(instance_id))) AS notes
      FROM released`,
    renewActivity: `UPDATE ${s}.activity_tasks SET lease_expires_at = $4
      WHERE hub = $1 AND id = $2 AND lease_token = $3`,
    abandonActivity: `WITH released AS (
        UPDATE ${s}.activity_tasks SET lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL,
          visible_at = $4
        WHERE hub = $1 AND id = $2 AND lease_token = $3 RETURNING id)
      SELECT ${s}.refrain_notify($1, $5, '[{"kind": "activity-work"}]'::jsonb) AS notes FROM released`,
    purgeIdle: `SELECT ${s}.refrain_purge_idle($1, $2::text[], $3) AS deleted`,
    queueStats: `SELECT
        (SELECT COUNT(*) FROM ${s}.inbox WHERE hub = $1 AND visible_at <= $2) AS messages,
        (SELECT MIN(visible_at) FROM ${s}.inbox WHERE hub = $1 AND visible_at <= $2) AS oldest_message,
        (SELECT COUNT(*) FROM ${s}.activity_tasks WHERE hub = $1 AND visible_at <= $2) AS activities,
        (SELECT MIN(visible_at) FROM ${s}.activity_tasks WHERE hub = $1 AND visible_at <= $2) AS oldest_activity`,
    // The first message of one kind (see INBOX_KIND) whose instance has one of the names, and
    // the first task of one of the names; work held by a lease that outlasts its visible time
    // is left out (see nextWakeUp).
    nextWakeUp: `SELECT
        (SELECT m.visible_at FROM ${s}.inbox m
          JOIN ${s}.instances i ON i.hub = m.hub AND i.instance_id = m.instance_id
          WHERE cardinality($2::text[]) > 0 AND m.hub = $1 AND ${M_KIND} = $4::boolean
            AND i.name = ANY ($2::text[])
            AND (i.lease_token IS NULL OR i.lease_expires_at <= m.visible_at)
          ORDER BY m.visible_at, m.id LIMIT 1) AS orchestrations,
        (SELECT MIN(visible_at) FROM ${s}.activity_tasks
          WHERE cardinality($3::text[]) > 0 AND hub = $1 AND name = ANY ($3::text[])
            AND (lease_token IS NULL OR lease_expires_at <= visible_at)) AS activities`,
  };
}

/** The prepared SQL of one store. */
export type Statements = ReturnType<typeof statements>;

/** The query listing one page: `pageSize + 1` rows after the cursor, in listing order. */
export function listQuery(
  s: string,
  hub: string,
  filter: InstanceFilter,
  after: PageCursor | undefined,
  limit: number,
): pg.QueryConfig {
  const f = filterSql(filter, 2);
  const n = f.params.length + 2;
  return {
    text: `SELECT * FROM ${s}.instances WHERE ${f.sql}
      AND ($${n}::bigint IS NULL OR (created_at, instance_id) > ($${n}, $${n + 1}::text))
      ORDER BY created_at, instance_id LIMIT $${n + 2}`,
    values: [hub, ...f.params, after ? after.createdAt : null, after ? after.instanceId : null, limit],
  };
}

/** The terminal instances a filter selects, as `instance_id` rows (the first step of an idle purge). */
export function terminalIdsQuery(s: string, hub: string, filter: InstanceFilter): pg.QueryConfig {
  const f = filterSql(filter, 2);
  return {
    text: `SELECT instance_id FROM ${s}.instances WHERE ${f.sql} AND runtime_status IN ${TERMINAL}`,
    values: [hub, ...f.params],
  };
}

/**
 * The statement purging terminal instances selected by IDs or a filter, with their history,
 * inbox and activity tasks; returns the count as `deleted`.
 */
export function purgeQuery(
  s: string,
  hub: string,
  selector: { instanceIds: string[] } | { filter: InstanceFilter },
): pg.QueryConfig {
  const where =
    "instanceIds" in selector
      ? { sql: "hub = $1 AND instance_id = ANY ($2::text[])", params: [[...new Set(selector.instanceIds)]] }
      : filterSql(selector.filter, 2);
  const victims = `SELECT instance_id FROM purged`;
  return {
    text: `WITH purged AS (
        DELETE FROM ${s}.instances WHERE ${where.sql} AND runtime_status IN ${TERMINAL} RETURNING instance_id),
      h AS (DELETE FROM ${s}.history WHERE hub = $1 AND instance_id IN (${victims})),
      m AS (DELETE FROM ${s}.inbox WHERE hub = $1 AND instance_id IN (${victims})),
      t AS (DELETE FROM ${s}.activity_tasks WHERE hub = $1 AND instance_id IN (${victims}))
      SELECT count(*)::integer AS deleted FROM purged`,
    values: [hub, ...where.params],
  };
}
