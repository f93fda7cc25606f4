/**
 * The data of one task hub in the memory store, with the row-level operations the store methods
 * compose: inserting and deleting instances, messages and tasks, checking lease tokens, and
 * writing a whole checkpoint.
 * Events are kept as JSON text, exactly as a database store keeps them.
 */
import { randomUUID } from "node:crypto";
import { LeaseLostError } from "../../core/errors.js";
import type { HistoryEvent, InboxEvent } from "../../core/events.js";
import { applyInstanceUpdate, type Checkpoint, pendingRecord } from "../../core/records.js";
import { type ClaimBudget, isActiveStatus, type NotificationBatch, stripUndefined } from "../common.js";
import type {
  ActivityLease,
  ActivityWorkItem,
  FollowingStep,
  InboxMessage,
  InstanceRecord,
  NewActivityTask,
  NewInstance,
  NewMessage,
  OrchestrationLease,
} from "../store.js";

/** A lease held on an instance or task. */
export interface Lease {
  workerId: string;
  token: string;
  expiresAt: number;
}

/** An instance row and its lease. */
export interface StoredInstance {
  record: InstanceRecord;
  lease?: Lease;
}

/** An inbox message; `seq` is its ID and arrival order. */
export interface StoredMessage {
  seq: number;
  instanceId: string;
  executionId?: string;
  event: string;
  visibleAt: number;
}

/** An activity task; `seq` is its ID and arrival order. */
export interface StoredTask {
  seq: number;
  task: NewActivityTask;
  visibleAt: number;
  deliveryCount: number;
  lease?: Lease;
}

/** A deep copy. */
export const copy = <T>(value: T): T => structuredClone(value);

/** True when the lease exists and has not expired at `now`. */
export function isLive(lease: Lease | undefined, now: number): boolean {
  return lease !== undefined && lease.expiresAt > now;
}

/** Orders messages by visibleAt, then arrival. */
export function compareMessages(a: StoredMessage, b: StoredMessage): number {
  return a.visibleAt - b.visibleAt || a.seq - b.seq;
}

/** The public form of a stored message (a fresh copy). */
export function toInboxMessage(m: StoredMessage): InboxMessage {
  return stripUndefined({
    id: String(m.seq),
    instanceId: m.instanceId,
    executionId: m.executionId,
    event: JSON.parse(m.event) as InboxEvent,
    visibleAt: m.visibleAt,
  });
}

/** Everything one hub holds. */
export class HubState {
  readonly instances = new Map<string, StoredInstance>();
  /** instanceId -> executionId -> events as JSON text, in sequence order. */
  readonly history = new Map<string, Map<string, string[]>>();
  readonly inbox = new Map<number, StoredMessage>();
  /** The inbox again, by instance, each list in (visibleAt, seq) order: leases read only the heads. */
  readonly inboxByInstance = new Map<string, StoredMessage[]>();
  readonly tasks = new Map<number, StoredTask>();

  /** `nextSeq` hands out store-wide increasing IDs for messages and tasks. */
  constructor(
    /** The task hub's name. */
    readonly name: string,
    private readonly nextSeq: () => number,
  ) {}

  /** The instance, when `lease` still holds it; otherwise throws `LeaseLostError`. */
  heldInstance(lease: OrchestrationLease): StoredInstance {
    const stored = this.instances.get(lease.instanceId);
    if (!stored || stored.lease?.token !== lease.token) {
      throw new LeaseLostError(`orchestration instance '${lease.instanceId}'`);
    }
    return stored;
  }

  /** The task, when `lease` still holds it; otherwise throws `LeaseLostError`. */
  heldTask(lease: ActivityLease): StoredTask {
    const task = this.tasks.get(Number(lease.taskId));
    if (!task || task.lease?.token !== lease.token)
      throw new LeaseLostError(`activity task '${lease.taskId}'`);
    return task;
  }

  /** A copy of one execution's history, in sequence order. */
  readHistory(instanceId: string, executionId: string): HistoryEvent[] {
    const events = this.history.get(instanceId)?.get(executionId) ?? [];
    return events.map((e) => JSON.parse(e) as HistoryEvent);
  }

  /** Writes history: appended to the execution, or replacing every execution's history. */
  writeHistory(
    instanceId: string,
    executionId: string,
    mode: "append" | "replace",
    events: HistoryEvent[],
  ): void {
    const texts = events.map((e) => JSON.stringify(e));
    let executions = this.history.get(instanceId);
    if (mode === "replace" || !executions) {
      executions = new Map();
      this.history.set(instanceId, executions);
    }
    const stored = executions.get(executionId);
    if (stored) for (const text of texts) stored.push(text);
    else executions.set(executionId, texts);
  }

  /** True when the instance has any inbox message, visible or not. */
  hasMessages(instanceId: string): boolean {
    return this.inboxByInstance.has(instanceId);
  }

  /** When the instance's first inbox message becomes visible; undefined when it has none. */
  firstMessageAt(instanceId: string): number | undefined {
    return this.inboxByInstance.get(instanceId)?.[0]?.visibleAt;
  }

  /** The instance's messages visible at `now`, oldest first. */
  visibleMessages(instanceId: string, now: number): StoredMessage[] {
    const list = this.inboxByInstance.get(instanceId) ?? [];
    let end = 0;
    while (end < list.length && list[end]!.visibleAt <= now) end++;
    return list.slice(0, end);
  }

  /** Deletes one inbox message of the instance (when it is the instance's). */
  deleteMessage(instanceId: string, seq: number): void {
    const message = this.inbox.get(seq);
    if (message?.instanceId !== instanceId) return;
    this.inbox.delete(seq);
    const list = this.inboxByInstance.get(instanceId);
    if (!list) return;
    const at = list.indexOf(message);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.inboxByInstance.delete(instanceId);
  }

  /** Deletes the instance's inbox messages. */
  deleteMessages(instanceId: string): void {
    for (const m of this.inboxByInstance.get(instanceId) ?? []) this.inbox.delete(m.seq);
    this.inboxByInstance.delete(instanceId);
  }

  /** Moves the instance's messages visible at `now` to `visibleAt` (an abandoned lease's delay). */
  delayMessages(instanceId: string, now: number, visibleAt: number): void {
    const list = this.inboxByInstance.get(instanceId);
    if (!list) return;
    for (const m of list) if (m.visibleAt <= now) m.visibleAt = visibleAt;
    list.sort(compareMessages);
  }

  /** Deletes the instance row with its history, inbox and activity tasks. */
  deleteInstance(instanceId: string): void {
    this.instances.delete(instanceId);
    this.history.delete(instanceId);
    this.deleteMessages(instanceId);
    for (const [seq, t] of this.tasks) if (t.task.instanceId === instanceId) this.tasks.delete(seq);
  }

  /**
   * Replaces any existing (terminal) instance with a fresh Pending one and (unless `queueStart` is
   * false: its first step is written next) its start message. Without a row, only messages that
   * arrived for the ID before it existed are dropped.
   */
  insertInstance(instance: NewInstance, batch: NotificationBatch, queueStart = true): void {
    if (this.instances.has(instance.instanceId)) this.deleteInstance(instance.instanceId);
    else this.deleteMessages(instance.instanceId);
    const record = pendingRecord(instance);
    if (record.parent) record.parent = copy(record.parent);
    this.instances.set(instance.instanceId, { record });
    batch.instanceUpdated(instance.instanceId, "Pending");
    if (!queueStart) return;
    this.insertMessage(
      {
        instanceId: instance.instanceId,
        executionId: instance.executionId,
        event: instance.started,
        visibleAt: instance.visibleAt,
      },
      batch,
    );
  }

  /**
   * Adds a message to an inbox (whether or not the instance exists); with `ensureTarget`, a
   * missing target row is created first.
   */
  insertMessage(message: NewMessage, batch: NotificationBatch): void {
    const target = message.ensureTarget;
    if (target && !this.instances.has(message.instanceId)) {
      const now = Date.now();
      this.instances.set(message.instanceId, {
        record: {
          instanceId: message.instanceId,
          name: target.name,
          executionId: target.executionId,
          runtimeStatus: "Pending",
          createdAt: now,
          lastUpdatedAt: now,
        },
      });
    }
    const seq = this.nextSeq();
    const stored: StoredMessage = {
      seq,
      instanceId: message.instanceId,
      executionId: message.executionId,
      event: JSON.stringify(message.event),
      visibleAt: message.visibleAt,
    };
    this.inbox.set(seq, stored);
    const list = this.inboxByInstance.get(message.instanceId);
    if (!list) this.inboxByInstance.set(message.instanceId, [stored]);
    else {
      // Usually the newest: scan back from the end to its place in (visibleAt, seq) order.
      let at = list.length;
      while (at > 0 && compareMessages(list[at - 1]!, stored) > 0) at--;
      list.splice(at, 0, stored);
    }
    batch.orchestrationWork(message.instanceId, message.visibleAt);
  }

  /**
   * Enqueues an activity task, visible from `now`; with `lease`, already leased (a claimed task,
   * delivered once) and of no interest to other workers.
   */
  insertTask(task: NewActivityTask, now: number, batch: NotificationBatch, lease?: Lease): StoredTask {
    const seq = this.nextSeq();
    const stored: StoredTask = { seq, task: copy(task), visibleAt: now, deliveryCount: lease ? 1 : 0 };
    if (lease) stored.lease = lease;
    else batch.activityWork();
    this.tasks.set(seq, stored);
    return stored;
  }

  /**
   * Writes a checkpoint of `stored` and releases its lease; returns the new activity tasks the
   * budget claimed.
   */
  applyCheckpoint(
    stored: StoredInstance,
    checkpoint: Checkpoint,
    batch: NotificationBatch,
    budget: ClaimBudget,
  ): ActivityWorkItem[] {
    const { instanceId } = stored.record;
    const update = checkpoint.instance;
    this.writeHistory(instanceId, update.executionId, checkpoint.history.mode, checkpoint.history.events);
    for (const id of checkpoint.consumedMessageIds) this.deleteMessage(instanceId, Number(id));
    const before = stored.record.runtimeStatus;
    const record = applyInstanceUpdate(stored.record, update);
    if (record.failure) record.failure = copy(record.failure);
    stored.record = record;
    stored.lease = undefined;
    if (before !== update.runtimeStatus) batch.instanceUpdated(instanceId, update.runtimeStatus);
    const now = Date.now();
    const claimed: ActivityWorkItem[] = [];
    for (const task of checkpoint.activities) {
      const workerId = budget.take(task.name) ? budget.workerId : undefined;
      const lease = workerId && { workerId, token: randomUUID(), expiresAt: budget.expiresAt };
      const t = this.insertTask(task, now, batch, lease || undefined);
      if (lease) claimed.push(this.leasedTask(t));
    }
    for (const message of checkpoint.messages) this.insertMessage(message, batch);
    for (const child of checkpoint.children) {
      const existing = this.instances.get(child.instanceId);
      if (existing && isActiveStatus(existing.record.runtimeStatus)) {
        if (child.conflictReply) this.insertMessage(child.conflictReply, batch);
      } else {
        this.insertInstance(child, batch);
      }
    }
    const first = this.firstMessageAt(instanceId);
    if (first !== undefined) batch.orchestrationWork(instanceId, first);
    return claimed;
  }

  /** The instance, when `next` may commit in place of its activity's result (see `FollowingStep`). */
  followingStepApplies(instanceId: string, next: FollowingStep, now: number): StoredInstance | undefined {
    const stored = this.instances.get(instanceId);
    const record = stored?.record;
    if (!record || record.executionId !== next.executionId || record.runtimeStatus !== next.runtimeStatus)
      return;
    if (isLive(stored.lease, now) || this.visibleMessages(instanceId, now).length > 0) return;
    const length = this.history.get(instanceId)?.get(record.executionId)?.length ?? 0;
    return length === next.historyLength ? stored : undefined;
  }

  /** The work item of a task a worker holds a lease on (a fresh copy). */
  leasedTask(t: StoredTask): ActivityWorkItem {
    const id = String(t.seq);
    const lease = t.lease!;
    return {
      lease: {
        hub: this.name,
        taskId: id,
        workerId: lease.workerId,
        token: lease.token,
        expiresAt: lease.expiresAt,
      },
      task: stripUndefined({ id, deliveryCount: t.deliveryCount, ...copy(t.task) }),
    };
  }
}
