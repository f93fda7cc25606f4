/**
 * The row-level operations the SQLite store composes inside its transactions: lease checks,
 * inserting and deleting instances and messages, and writing a whole checkpoint. Every function
 * runs on prepared statements and expects to be called inside a transaction.
 */
import { randomUUID } from "node:crypto";
import { LeaseLostError } from "../../core/errors.js";
import type { HistoryEvent, RuntimeStatus } from "../../core/events.js";
import { type ClaimBudget, isActiveStatus, type NotificationBatch } from "../common.js";
import { toInboxMessage, toInstanceRecord } from "../rows.js";
import type {
  ActivityLease,
  ActivityWorkItem,
  Checkpoint,
  CommitOutcome,
  FollowingStep,
  InboxMessage,
  InstanceFilter,
  InstanceUpdate,
  LeaseOptions,
  NewInstance,
  NewMessage,
  OrchestrationLease,
  OrchestrationWorkItem,
} from "../store.js";
import {
  HISTORY_ROWS_PER_INSERT,
  type InboxRow,
  type InstanceState,
  type LeasedInstanceRow,
  type Statements,
  toHistoryEvent,
} from "./statements.js";

/** `undefined` as SQL NULL. */
export const null_ = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/** A value as JSON text, or NULL for `undefined`. */
export const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** Parses a store-assigned numeric ID; undefined when it cannot be one of ours. */
export function parseId(id: string): number | undefined {
  const n = Number(id);
  return Number.isSafeInteger(n) && n > 0 && String(n) === id ? n : undefined;
}

/** Named parameters of the shared filter clause. */
export function filterParams(hub: string, filter: InstanceFilter): Record<string, string | number | null> {
  return {
    hub,
    createdFrom: null_(filter.createdFrom),
    createdTo: null_(filter.createdTo),
    statuses: filter.runtimeStatus?.length ? JSON.stringify(filter.runtimeStatus) : null,
    prefix: null_(filter.instanceIdPrefix),
    kind: null_(filter.instanceKind),
  };
}

/**
 * Deletes the task `lease` holds and returns its instance and execution; throws `LeaseLostError`
 * (deleting nothing) when the lease no longer holds it.
 */
export function takeTask(s: Statements, lease: ActivityLease): { instance_id: string; execution_id: string } {
  const id = parseId(lease.taskId);
  const row =
    id === undefined
      ? undefined
      : (s.takeTask.get(lease.hub, id, lease.token) as
          | { instance_id: string; execution_id: string }
          | undefined);
  if (!row) throw new LeaseLostError(`activity task '${lease.taskId}'`);
  return row;
}

/** An instance's history (its current execution's), found by its row's history key, in sequence order. */
export function readHistory(s: Statements, historyKey: number): HistoryEvent[] {
  return (s.readHistory.all(historyKey) as { event: string }[]).map(toHistoryEvent);
}

/**
 * Leases one instance inside the caller's transaction and reads its work item: row, messages
 * visible by `visibleBy` and, unless `known` says the caller holds it exactly, its history.
 */
export function leaseInstance(
  s: Statements,
  hub: string,
  instanceId: string,
  workerId: string,
  expiresAt: number,
  visibleBy: number,
  known: LeaseOptions["known"],
): OrchestrationWorkItem {
  const token = randomUUID();
  const row = s.setLease.get(workerId, token, expiresAt, hub, instanceId) as LeasedInstanceRow;
  const k = known?.(instanceId);
  let omit = false;
  if (k !== undefined && k.executionId === row.execution_id) {
    omit = k.length === historyLength(s, row.history_key);
  }
  return {
    lease: { hub, instanceId, workerId, token, expiresAt },
    instance: toInstanceRecord(row),
    history: omit ? [] : readHistory(s, row.history_key),
    ...(omit ? { historyOmitted: true } : {}),
    messages: visibleMessages(s, hub, instanceId, visibleBy),
  };
}

/** The inbox's AUTOINCREMENT sequence: grows with every message inserted (see HeldMessages). */
export function inboxSeqOf(s: Statements): number {
  return (s.inboxSeq.get() as { seq: number }).seq;
}

/** The instance's inbox messages visible by `visibleBy`, oldest first. */
export function visibleMessages(
  s: Statements,
  hub: string,
  instanceId: string,
  visibleBy: number,
): InboxMessage[] {
  return (s.visibleMessages.all(hub, instanceId, visibleBy) as InboxRow[]).map(toInboxMessage);
}

/** Runs one item of a batch: its LeaseLostError becomes a refused outcome; other errors propagate. */
export function refusedIfLost(apply: () => CommitOutcome): CommitOutcome {
  try {
    return apply();
  } catch (err) {
    if (err instanceof LeaseLostError) return { committed: false, error: err };
    throw err;
  }
}

/** Deletes the instance row with its history, inbox and activity tasks. */
export function deleteInstance(s: Statements, hub: string, instanceId: string): void {
  s.deleteInstanceHistory.run(hub, instanceId);
  s.deleteInstance.run(hub, instanceId);
  s.deleteInbox.run(hub, instanceId);
  s.deleteTasks.run(hub, instanceId);
}

/**
 * Replaces any existing (terminal) instance with a fresh Pending one and (unless `queueStart` is
 * false: its first step is written next) its start message; `exists` says whether the row exists.
 * Without one, only messages that arrived for the ID before it existed are dropped. Returns the
 * new row's history key.
 */
export function insertInstance(
  s: Statements,
  hub: string,
  instance: NewInstance,
  batch: NotificationBatch,
  exists: boolean,
  queueStart = true,
): number {
  if (exists) deleteInstance(s, hub, instance.instanceId);
  else s.deleteInbox.run(hub, instance.instanceId);
  const { history_key } = s.insertInstance.get(
    hub,
    instance.instanceId,
    instance.name,
    instance.executionId,
    null_(instance.input),
    json(instance.parent),
    instance.createdAt,
    instance.createdAt,
  ) as { history_key: number };
  batch.instanceUpdated(instance.instanceId, "Pending");
  if (!queueStart) return history_key;
  insertMessage(
    s,
    hub,
    {
      instanceId: instance.instanceId,
      executionId: instance.executionId,
      event: instance.started,
      visibleAt: instance.visibleAt,
    },
    batch,
  );
  return history_key;
}

/**
 * Adds a message to an inbox (whether or not the instance exists); with `ensureTarget`, a missing
 * target row is created first.
 */
export function insertMessage(
  s: Statements,
  hub: string,
  message: NewMessage,
  batch: NotificationBatch,
): void {
  const target = message.ensureTarget;
  if (target) {
    const now = Date.now();
    s.ensureInstance.run(hub, message.instanceId, target.name, target.executionId, now, now);
  }
  s.insertMessage.run(
    hub,
    message.instanceId,
    null_(message.executionId),
    JSON.stringify(message.event),
    message.visibleAt,
  );
  batch.orchestrationWork(message.instanceId, message.visibleAt);
}

/**
 * Writes one checkpoint inside the caller's transaction; throws `LeaseLostError` first (writing
 * nothing) if the lease is lost. Returns the new activity tasks the budget claimed.
 */
export function applyCheckpoint(
  s: Statements,
  lease: OrchestrationLease,
  checkpoint: Checkpoint,
  batch: NotificationBatch,
  budget: ClaimBudget,
): ActivityWorkItem[] {
  const held = updateHeldInstance(s, lease, checkpoint.instance, batch);
  const target = {
    instanceId: lease.instanceId,
    historyKey: held.history_key,
    length: lengthAfter(held.max_seq),
  };
  return writeSteps(s, lease.hub, target, checkpoint, batch, budget, false);
}

/**
 * Updates the row `lease` holds as a step leaves it, fenced by the lease token in the same
 * statement, and returns its history key and largest history seq; throws `LeaseLostError` when
 * the token no longer matches. The status is SET only when it changes (see
 * `updateInstanceSameStatus`), so the likely case is tried first: a step usually keeps its
 * instance Running, and usually changes any other status it ends with.
 */
function updateHeldInstance(
  s: Statements,
  lease: OrchestrationLease,
  update: InstanceUpdate,
  batch: NotificationBatch,
): HeldRow {
  const values = [...stepValues(lease.hub, lease.instanceId, update), lease.token, update.runtimeStatus];
  const keep = () => s.updateHeldSameStatus.get(update.executionId, ...values) as HeldRow | undefined;
  const change = () =>
    s.updateHeldStatus.get(update.executionId, update.runtimeStatus, ...values) as HeldRow | undefined;
  const kept = update.runtimeStatus === "Running" ? keep() : undefined;
  const changed = kept ? undefined : change();
  const row = kept ?? changed ?? (update.runtimeStatus === "Running" ? undefined : keep());
  if (!row) throw new LeaseLostError(`orchestration instance '${lease.instanceId}'`);
  if (changed) batch.instanceUpdated(lease.instanceId, update.runtimeStatus);
  return row;
}

/** What `updateHeldInstance` returns of the row. */
interface HeldRow {
  history_key: number;
  max_seq: number | null;
}

/** The values of STEP_COLUMNS followed by the row's key, for the update statements. */
function stepValues(hub: string, instanceId: string, update: InstanceUpdate): (string | number | null)[] {
  const hasInput = Object.hasOwn(update, "input");
  return [
    hasInput ? 1 : 0,
    hasInput ? null_(update.input) : null,
    null_(update.output),
    null_(update.customStatus),
    json(update.failure),
    update.lastUpdatedAt,
    null_(update.completedAt),
    hub,
    instanceId,
  ];
}

/** Appends `events` to a history from sequence number `seq`, several rows per statement. */
function insertHistory(
  s: Statements,
  historyKey: number,
  seq: number,
  events: readonly HistoryEvent[],
): void {
  for (let start = 0; start < events.length; start += HISTORY_ROWS_PER_INSERT) {
    const chunk = events.slice(start, start + HISTORY_ROWS_PER_INSERT);
    const params: (string | number)[] = [];
    for (const [i, event] of chunk.entries()) {
      params.push(historyKey, seq + start + i, JSON.stringify(event));
    }
    s.insertHistoryRows[chunk.length - 1]!.run(...params);
  }
}

/** The next sequence number of the history with this key (its stored length). */
function historyLength(s: Statements, historyKey: number): number {
  return lengthAfter((s.maxSeq.get(historyKey) as { seq: number | null }).seq);
}

/** A history's length from its largest sequence number (null: no rows). */
const lengthAfter = (maxSeq: number | null): number => (maxSeq === null ? 0 : maxSeq + 1);

/**
 * The instance's row when `next` may commit with its activity's completion (see `FollowingStep`):
 * the instance has the step's execution and status, no live lease, no visible message and
 * exactly the history the step saw.
 */
export function followingStepApplies(
  s: Statements,
  hub: string,
  instanceId: string,
  next: FollowingStep,
  now: number,
): InstanceState | undefined {
  const row = s.followingStepState.get(now, hub, instanceId) as
    | (InstanceState & { has_visible_message: number; max_seq: number | null })
    | undefined;
  if (!row || row.execution_id !== next.executionId || row.runtime_status !== next.runtimeStatus) return;
  if (row.lease_token !== null && Number(row.lease_expires_at) > now) return;
  if (row.has_visible_message) return;
  return lengthAfter(row.max_seq) === next.historyLength ? row : undefined;
}

/**
 * Writes the checkpoint of a step that needed no lease (a first step, a following step) of the
 * instance whose row (as read in this transaction) is `row`, clearing any (expired) lease left on
 * it. `checkedLength` is the history length the caller checked in this transaction, with no
 * message waiting. Returns the new activity tasks the budget claimed.
 */
export function writeCheckpoint(
  s: Statements,
  hub: string,
  row: InstanceState,
  checkpoint: Checkpoint,
  batch: NotificationBatch,
  budget: ClaimBudget,
  checkedLength: number,
): ActivityWorkItem[] {
  const instanceId = row.instance_id;
  const update = checkpoint.instance;
  const values = stepValues(hub, instanceId, update);
  if (row.runtime_status !== update.runtimeStatus) {
    s.updateInstance.run(update.executionId, update.runtimeStatus, ...values);
    batch.instanceUpdated(instanceId, update.runtimeStatus);
  } else {
    s.updateInstanceSameStatus.run(update.executionId, ...values);
  }
  const target = { instanceId, historyKey: row.history_key, length: checkedLength };
  return writeSteps(s, hub, target, checkpoint, batch, budget, true);
}

/** The instance a checkpoint's writes go to, with its stored history length before them. */
interface CheckpointTarget {
  instanceId: string;
  historyKey: number;
  length: number;
}

/**
 * Writes what a checkpoint adds besides its instance's row: history, consumed messages deleted,
 * activity tasks (claiming what the budget allows), messages and children. Unless `noneWaiting`
 * (the caller checked that no message waits), reports messages that arrived meanwhile.
 */
function writeSteps(
  s: Statements,
  hub: string,
  { instanceId, historyKey, length }: CheckpointTarget,
  checkpoint: Checkpoint,
  batch: NotificationBatch,
  budget: ClaimBudget,
  noneWaiting: boolean,
): ActivityWorkItem[] {
  let seq = length;
  if (checkpoint.history.mode === "replace") {
    s.deleteHistory.run(historyKey);
    seq = 0;
  }
  insertHistory(s, historyKey, seq, checkpoint.history.events);
  for (const id of checkpoint.consumedMessageIds) {
    const n = parseId(id);
    if (n !== undefined) s.deleteMessage.run(hub, instanceId, n);
  }
  const now = Date.now();
  const claimed: ActivityWorkItem[] = [];
  for (const t of checkpoint.activities) {
    const input = null_(t.input);
    if (budget.take(t.name)) {
      const token = randomUUID();
      const workerId = budget.workerId!;
      const { expiresAt } = budget;
      const { lastInsertRowid } = s.insertClaimedTask.run(
        hub,
        t.instanceId,
        t.executionId,
        t.taskId,
        t.name,
        input,
        t.attempt,
        now,
        workerId,
        token,
        expiresAt,
      );
      const taskId = String(lastInsertRowid);
      claimed.push({
        lease: { hub, taskId, workerId, token, expiresAt },
        task: { id: taskId, deliveryCount: 1, ...t },
      });
      continue;
    }
    s.insertTask.run(hub, t.instanceId, t.executionId, t.taskId, t.name, input, t.attempt, now);
    batch.activityWork();
  }
  for (const message of checkpoint.messages) insertMessage(s, hub, message, batch);
  for (const child of checkpoint.children) {
    const existing = s.instanceState.get(hub, child.instanceId) as InstanceState | undefined;
    if (existing && isActiveStatus(existing.runtime_status as RuntimeStatus)) {
      if (child.conflictReply) insertMessage(s, hub, child.conflictReply, batch);
    } else {
      insertInstance(s, hub, child, batch, existing !== undefined);
    }
  }
  // Messages that arrived while the lease was held, or that the step sent itself (its timers).
  if (!noneWaiting) {
    const first = (s.firstMessageAt.get(hub, instanceId) as { at: number | null }).at;
    if (first !== null) batch.orchestrationWork(instanceId, first);
  }
  return claimed;
}
