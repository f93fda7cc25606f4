/**
 * An in-memory Store: plain maps per task hub. Not durable; meant for tests and demos. Values are
 * copied in and out, so callers can never mutate stored state. Every method validates first and
 * mutates only when nothing can fail any more, so a method that throws changed nothing.
 */
import { randomUUID } from "node:crypto";
import {
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InstanceNotRunningError,
  LeaseLostError,
} from "../../core/errors.js";
import type { HistoryEvent, TaskCompletedEvent, TaskFailedEvent } from "../../core/events.js";
import { isTerminalStatus } from "../../core/events.js";
import {
  ClaimBudget,
  committedWith,
  compareListOrder,
  decodeContinuationToken,
  instancePage,
  isActiveStatus,
  matchesFilter,
  NotificationBatch,
  NotificationHub,
  storeClosedError,
  throwIfRefused,
  transitionMismatch,
  validateBatchSize,
  validateDuration,
  validateFilter,
  validatePageSize,
} from "../common.js";
import type {
  ActivityClaim,
  ActivityCompletion,
  ActivityLease,
  ActivityWorkItem,
  AppendOptions,
  Checkpoint,
  CommitOutcome,
  CreateOptions,
  InboxMessage,
  InstanceFilter,
  InstancePage,
  InstanceQuery,
  InstanceRecord,
  LeaseOptions,
  NewInstance,
  NewMessage,
  OrchestrationLease,
  OrchestrationWorkItem,
  PurgeOptions,
  QueueStats,
  Store,
  StoreNotification,
} from "../store.js";
import {
  compareMessages,
  copy,
  HubState,
  isLive,
  type Lease,
  type StoredInstance,
  type StoredMessage,
  type StoredTask,
  toInboxMessage,
} from "./hub-state.js";

/** An in-memory, non-durable Store (kind "memory"). */
export class MemoryStore implements Store {
  /** Always "memory". */
  readonly kind = "memory";
  /** False: a memory store lives in one process. */
  readonly notifiesAcrossProcesses = false;
  private readonly hubs = new Map<string, HubState>();
  private readonly notifications = new NotificationHub();
  private state: "new" | "open" | "closed" = "new";
  private nextSeq = 1;

  /** Marks the store open. Idempotent. */
  async open(): Promise<void> {
    if (this.state === "closed") throw storeClosedError(this.kind, true);
    this.state = "open";
  }

  /** Drops every listener; later calls throw `STORE_CLOSED`. The data is kept but unreachable. */
  async close(): Promise<void> {
    this.state = "closed";
    this.notifications.clear();
  }

  /**
   * Creates a Pending instance and queues its start message (or commits its first step);
   * replaces a terminal instance. Returns the claimed tasks of the first step.
   */
  async createInstance(
    hub: string,
    instance: NewInstance,
    options: CreateOptions = {},
  ): Promise<ActivityWorkItem[]> {
    const h = this.hub(hub);
    const budget = new ClaimBudget(options.claim, Date.now());
    const existing = h.instances.get(instance.instanceId);
    if (existing && isActiveStatus(existing.record.runtimeStatus)) {
      throw new InstanceAlreadyExistsError(instance.instanceId, existing.record.runtimeStatus);
    }
    const batch = new NotificationBatch();
    const { firstStep } = options;
    h.insertInstance(instance, batch, firstStep === undefined);
    const created = h.instances.get(instance.instanceId)!;
    const claimed = firstStep
      ? h.applyCheckpoint(created, { ...firstStep, consumedMessageIds: [] }, batch, budget)
      : [];
    this.emit(hub, batch);
    return claimed;
  }

  /** Adds a message to an existing instance's inbox (or, with `ensureTarget`, creates the row). */
  async appendMessage(hub: string, message: NewMessage, options?: AppendOptions): Promise<void> {
    const h = this.hub(hub);
    const existing = h.instances.get(message.instanceId);
    const batch = new NotificationBatch();
    if (!existing) {
      if (!message.ensureTarget) throw new InstanceNotFoundError(message.instanceId);
      h.insertMessage(message, batch);
      this.emit(hub, batch);
      return;
    }
    const status = existing.record.runtimeStatus;
    if (options?.onlyIfActive && isTerminalStatus(status)) {
      throw new InstanceNotRunningError(message.instanceId, status);
    }
    const transition = options?.transition;
    if (transition && status !== transition.from)
      throw transitionMismatch(message.instanceId, status, transition.from);
    if (transition) {
      existing.record.runtimeStatus = transition.to;
      existing.record.lastUpdatedAt = Date.now();
      batch.instanceUpdated(message.instanceId, transition.to);
    }
    h.insertMessage(message, batch);
    this.emit(hub, batch);
  }

  /** The instance row, or undefined. */
  async getInstance(hub: string, instanceId: string): Promise<InstanceRecord | undefined> {
    const stored = this.hub(hub).instances.get(instanceId);
    return stored ? copy(stored.record) : undefined;
  }

  /** The current execution's history ([] for an unknown instance). */
  async getHistory(hub: string, instanceId: string): Promise<HistoryEvent[]> {
    const h = this.hub(hub);
    const stored = h.instances.get(instanceId);
    if (!stored) return [];
    return h.readHistory(instanceId, stored.record.executionId);
  }

  /** A page of instances ordered by (createdAt, instanceId). */
  async listInstances(hub: string, query: InstanceQuery): Promise<InstancePage> {
    const h = this.hub(hub);
    const pageSize = validatePageSize(query.pageSize);
    validateFilter(query);
    const after =
      query.continuationToken === undefined ? undefined : decodeContinuationToken(query.continuationToken);
    const matching = [...h.instances.values()]
      .map((s) => s.record)
      .filter((r) => matchesFilter(r, query) && (!after || compareListOrder(r, after) > 0))
      .sort(compareListOrder);
    return instancePage(matching.slice(0, pageSize + 1).map(copy), pageSize);
  }

  /** Deletes terminal (and, with `idleOnly`, idle) instances selected by IDs or filter; returns the count. */
  async purgeInstances(
    hub: string,
    selector: { instanceIds: string[] } | { filter: InstanceFilter },
    options: PurgeOptions = {},
  ): Promise<number> {
    const h = this.hub(hub);
    let candidates: StoredInstance[];
    if ("instanceIds" in selector) {
      candidates = [...new Set(selector.instanceIds)].flatMap((id) => h.instances.get(id) ?? []);
    } else {
      validateFilter(selector.filter);
      candidates = [...h.instances.values()].filter((s) => matchesFilter(s.record, selector.filter));
    }
    let count = 0;
    const now = Date.now();
    for (const stored of candidates) {
      if (!isTerminalStatus(stored.record.runtimeStatus)) continue;
      if (options.idleOnly && (isLive(stored.lease, now) || h.hasMessages(stored.record.instanceId)))
        continue;
      h.deleteInstance(stored.record.instanceId);
      count++;
    }
    return count;
  }

  /** Leases the eligible instance with the oldest visible message; drops messages without a row. */
  async leaseNextOrchestration(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<OrchestrationWorkItem | undefined> {
    return (await this.leaseOrchestrations(hub, workerId, names, leaseMs, { max: 1 }))[0];
  }

  /** Leases up to `max` eligible instances, oldest visible message first; drops messages without a row. */
  async leaseOrchestrations(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    return this.lease(hub, workerId, names, leaseMs, 0, options);
  }

  /** Leases as `leaseOrchestrations` does, counting messages visible within `aheadMs` as visible. */
  async leaseOrchestrationsAhead(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    validateDuration("aheadMs", aheadMs, false);
    return this.lease(hub, workerId, names, leaseMs, aheadMs, options);
  }

  /** The messages visible now of each leased instance. */
  async readLeasedMessages(hub: string, leases: readonly OrchestrationLease[]): Promise<InboxMessage[][]> {
    const h = this.hub(hub);
    const now = Date.now();
    return leases.map((lease) => h.visibleMessages(lease.instanceId, now).map(toInboxMessage));
  }

  private lease(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): OrchestrationWorkItem[] {
    const h = this.hub(hub);
    validateDuration("leaseMs", leaseMs, false);
    const max = validateBatchSize(options.max);
    const now = Date.now();
    const visibleBy = now + aheadMs;
    const wanted = new Set(names);
    const candidates: { stored: StoredInstance; head: StoredMessage }[] = [];
    const orphans: string[] = [];
    for (const [instanceId, list] of h.inboxByInstance) {
      const head = list[0];
      if (!head || head.visibleAt > visibleBy) continue;
      const stored = h.instances.get(instanceId);
      if (!stored) orphans.push(instanceId);
      else if (wanted.has(stored.record.name) && !isLive(stored.lease, now))
        candidates.push({ stored, head });
    }
    for (const instanceId of orphans) h.deleteMessages(instanceId);
    candidates.sort((a, b) => compareMessages(a.head, b.head));
    return candidates.slice(0, max).map(({ stored }) => {
      const { instanceId, executionId } = stored.record;
      const lease: Lease = { workerId, token: randomUUID(), expiresAt: now + leaseMs };
      stored.lease = lease;
      const known = options.known?.(instanceId);
      const length = h.history.get(instanceId)?.get(executionId)?.length ?? 0;
      const omit = known !== undefined && known.executionId === executionId && known.length === length;
      return {
        lease: { hub, instanceId, ...lease },
        instance: copy(stored.record),
        history: omit ? [] : h.readHistory(instanceId, executionId),
        ...(omit ? { historyOmitted: true } : {}),
        messages: h.visibleMessages(instanceId, visibleBy).map(toInboxMessage),
      };
    });
  }

  /** Commits one orchestration step atomically and releases the lease. */
  async commitOrchestration(lease: OrchestrationLease, checkpoint: Checkpoint): Promise<void> {
    throwIfRefused(await this.commitOrchestrations(lease.hub, [{ lease, checkpoint }]));
  }

  /** Commits several steps; a lost lease refuses only its own step; claims the new tasks `claim` allows. */
  async commitOrchestrations(
    hub: string,
    commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]> {
    const h = this.hub(hub);
    const budget = new ClaimBudget(claim, Date.now());
    const batch = new NotificationBatch();
    const outcomes = commits.map(({ lease, checkpoint }): CommitOutcome => {
      const stored = h.instances.get(lease.instanceId);
      if (lease.hub !== hub || !stored || stored.lease?.token !== lease.token) {
        return {
          committed: false,
          error: new LeaseLostError(`orchestration instance '${lease.instanceId}'`),
        };
      }
      return committedWith(h.applyCheckpoint(stored, checkpoint, batch, budget));
    });
    this.emit(hub, batch);
    return outcomes;
  }

  /** Extends a held orchestration lease by `leaseMs` from now. */
  async renewOrchestrationLease(lease: OrchestrationLease, leaseMs: number): Promise<OrchestrationLease> {
    const h = this.hub(lease.hub);
    validateDuration("leaseMs", leaseMs, false);
    const stored = h.heldInstance(lease);
    const expiresAt = Date.now() + leaseMs;
    stored.lease = { workerId: lease.workerId, token: lease.token, expiresAt };
    return { ...lease, expiresAt };
  }

  /** Releases a held orchestration lease; its visible messages reappear after `delayMs`. */
  async abandonOrchestration(lease: OrchestrationLease, delayMs = 0): Promise<void> {
    const h = this.hub(lease.hub);
    validateDuration("delayMs", delayMs, true);
    const stored = h.instances.get(lease.instanceId);
    if (!stored || stored.lease?.token !== lease.token) return;
    stored.lease = undefined;
    const now = Date.now();
    if (delayMs > 0) h.delayMessages(lease.instanceId, now, now + delayMs);
    const batch = new NotificationBatch();
    batch.orchestrationWork(lease.instanceId);
    this.emit(lease.hub, batch);
  }

  /** Leases the oldest visible activity task with a name in `names`. */
  async leaseNextActivity(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<ActivityWorkItem | undefined> {
    return (await this.leaseActivities(hub, workerId, names, leaseMs, 1))[0];
  }

  /** Leases up to `max` visible activity tasks with a name in `names`, oldest first. */
  async leaseActivities(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    max: number,
  ): Promise<ActivityWorkItem[]> {
    const h = this.hub(hub);
    validateDuration("leaseMs", leaseMs, false);
    validateBatchSize(max);
    const now = Date.now();
    const wanted = new Set(names);
    const eligible: StoredTask[] = [];
    for (const t of h.tasks.values()) {
      if (t.visibleAt <= now && !isLive(t.lease, now) && wanted.has(t.task.name)) eligible.push(t);
    }
    eligible.sort((a, b) => a.visibleAt - b.visibleAt || a.seq - b.seq);
    return eligible.slice(0, max).map((t) => {
      t.lease = { workerId, token: randomUUID(), expiresAt: now + leaseMs };
      t.deliveryCount++;
      return h.leasedTask(t);
    });
  }

  /** Deletes the task and queues its result for the instance, atomically. */
  async completeActivity(lease: ActivityLease, result: TaskCompletedEvent | TaskFailedEvent): Promise<void> {
    throwIfRefused(await this.completeActivities(lease.hub, [{ lease, result }]));
  }

  /** Completes several tasks; a lost lease refuses only its own completion; commits following steps. */
  async completeActivities(
    hub: string,
    completions: readonly ActivityCompletion[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]> {
    const h = this.hub(hub);
    const budget = new ClaimBudget(claim, Date.now());
    const batch = new NotificationBatch();
    const now = Date.now();
    const outcomes = completions.map(({ lease, result, next }): CommitOutcome => {
      const task = h.tasks.get(Number(lease.taskId));
      if (lease.hub !== hub || !task || task.lease?.token !== lease.token) {
        return { committed: false, error: new LeaseLostError(`activity task '${lease.taskId}'`) };
      }
      h.tasks.delete(task.seq);
      const { instanceId, executionId } = task.task;
      const stored = next && h.followingStepApplies(instanceId, next, now);
      if (next && stored) {
        return committedWith(h.applyCheckpoint(stored, next.checkpoint, batch, budget), true);
      }
      h.insertMessage({ instanceId, executionId, event: result, visibleAt: now }, batch);
      return committedWith([], next ? false : undefined);
    });
    this.emit(hub, batch);
    return outcomes;
  }

  /** Extends a held activity lease by `leaseMs` from now. */
  async renewActivityLease(lease: ActivityLease, leaseMs: number): Promise<ActivityLease> {
    const h = this.hub(lease.hub);
    validateDuration("leaseMs", leaseMs, false);
    const task = h.heldTask(lease);
    const expiresAt = Date.now() + leaseMs;
    task.lease = { workerId: lease.workerId, token: lease.token, expiresAt };
    return { ...lease, expiresAt };
  }

  /** Releases a held activity lease; the task is redelivered after `delayMs`. */
  async abandonActivity(lease: ActivityLease, delayMs = 0): Promise<void> {
    const h = this.hub(lease.hub);
    validateDuration("delayMs", delayMs, true);
    const task = h.tasks.get(Number(lease.taskId));
    if (!task || task.lease?.token !== lease.token) return;
    task.lease = undefined;
    task.visibleAt = Date.now() + delayMs;
    const batch = new NotificationBatch();
    batch.activityWork();
    this.emit(lease.hub, batch);
  }

  /** The earliest visibleAt among matching inbox messages and activity tasks, leased or not. */
  async nextWakeUp(
    hub: string,
    orchestratorNames: readonly string[],
    activityNames: readonly string[],
  ): Promise<number | undefined> {
    const h = this.hub(hub);
    let min: number | undefined;
    for (const [instanceId, list] of h.inboxByInstance) {
      const stored = h.instances.get(instanceId);
      if (!stored || !orchestratorNames.includes(stored.record.name)) continue;
      // The first message that becomes visible when no lease holds the instance any more.
      const first = list.find((m) => !isLive(stored.lease, m.visibleAt));
      if (first && (min === undefined || first.visibleAt < min)) min = first.visibleAt;
    }
    for (const t of h.tasks.values()) {
      if (!activityNames.includes(t.task.name) || isLive(t.lease, t.visibleAt)) continue;
      if (min === undefined || t.visibleAt < min) min = t.visibleAt;
    }
    return min;
  }

  /** Counts the due messages and tasks and finds the oldest of each. */
  async queueStats(hub: string, now: number): Promise<QueueStats> {
    const h = this.hub(hub);
    const messages = dueSummary([...h.inboxByInstance.values()].flat(), now);
    const activities = dueSummary([...h.tasks.values()], now);
    return {
      messages: messages.count,
      activities: activities.count,
      ...(messages.oldest !== undefined && { oldestMessageAt: messages.oldest }),
      ...(activities.oldest !== undefined && { oldestActivityAt: activities.oldest }),
    };
  }

  /** Registers an in-process listener for the hub; returns the unsubscribe function. */
  subscribe(hub: string, listener: (notification: StoreNotification) => void): () => void {
    this.ensureOpen();
    return this.notifications.subscribe(hub, listener);
  }

  private ensureOpen(): void {
    if (this.state !== "open") throw storeClosedError(this.kind, this.state === "closed");
  }

  private hub(name: string): HubState {
    this.ensureOpen();
    let h = this.hubs.get(name);
    if (!h) {
      h = new HubState(name, () => this.nextSeq++);
      this.hubs.set(name, h);
    }
    return h;
  }

  private emit(hub: string, batch: NotificationBatch): void {
    this.notifications.emit(hub, batch.toList());
  }
}

/** How many of `items` are due at `now`, and the earliest visible time among those. */
function dueSummary(
  items: readonly { visibleAt: number }[],
  now: number,
): { count: number; oldest?: number } {
  let count = 0;
  let oldest: number | undefined;
  for (const { visibleAt } of items) {
    if (visibleAt > now) continue;
    count++;
    if (oldest === undefined || visibleAt < oldest) oldest = visibleAt;
  }
  return oldest === undefined ? { count } : { count, oldest };
}
