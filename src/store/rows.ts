/**
 * The row shapes the SQL stores share (SQLite and PostgreSQL use the same column names) and their
 * mapping to Store records. Integer columns may arrive as numbers or, from PostgreSQL BIGINTs, as
 * strings; absent optional fields come back without a key.
 */
import type { FailureDetails } from "../core/errors.js";
import type { InboxEvent, ParentInfo, RuntimeStatus } from "../core/events.js";
import { stripUndefined } from "./common.js";
import type { ActivityTask, InboxMessage, InstanceRecord } from "./store.js";

/** A BIGINT-like column: a number from SQLite or JSON, a string from a PostgreSQL query. */
type Int = number | string;

/** The columns of an `instances` row that make an `InstanceRecord`. */
export interface InstanceColumns {
  instance_id: string;
  name: string;
  execution_id: string;
  runtime_status: string;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  failure: string | null;
  parent: string | null;
  created_at: Int;
  last_updated_at: Int;
  completed_at: Int | null;
}

/** The columns of an `inbox` row that make an `InboxMessage`. */
export interface InboxColumns {
  id: Int;
  instance_id: string;
  execution_id: string | null;
  event: string;
  visible_at: Int;
}

/** The columns of an `activity_tasks` row that make an `ActivityTask`. */
export interface TaskColumns {
  id: Int;
  instance_id: string;
  execution_id: string;
  task_id: number;
  name: string;
  input: string | null;
  attempt: number;
  delivery_count: number;
}

const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

/** Maps an `instances` row to an `InstanceRecord`. */
export function toInstanceRecord(row: InstanceColumns): InstanceRecord {
  return stripUndefined<InstanceRecord>({
    instanceId: row.instance_id,
    name: row.name,
    executionId: row.execution_id,
    runtimeStatus: row.runtime_status as RuntimeStatus,
    input: opt(row.input),
    output: opt(row.output),
    customStatus: opt(row.custom_status),
    failure: row.failure === null ? undefined : (JSON.parse(row.failure) as FailureDetails),
    parent: row.parent === null ? undefined : (JSON.parse(row.parent) as ParentInfo),
    createdAt: Number(row.created_at),
    lastUpdatedAt: Number(row.last_updated_at),
    completedAt: row.completed_at === null ? undefined : Number(row.completed_at),
  });
}

/** Maps an `inbox` row to an `InboxMessage`. */
export function toInboxMessage(row: InboxColumns): InboxMessage {
  return stripUndefined<InboxMessage>({
    id: String(row.id),
    instanceId: row.instance_id,
    executionId: opt(row.execution_id),
    event: JSON.parse(row.event) as InboxEvent,
    visibleAt: Number(row.visible_at),
  });
}

/** Maps an `activity_tasks` row to an `ActivityTask`. */
export function toActivityTask(row: TaskColumns): ActivityTask {
  return stripUndefined<ActivityTask>({
    id: String(row.id),
    instanceId: row.instance_id,
    executionId: row.execution_id,
    taskId: row.task_id,
    name: row.name,
    input: opt(row.input),
    attempt: row.attempt,
    deliveryCount: row.delivery_count,
  });
}
