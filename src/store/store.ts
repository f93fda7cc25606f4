/**
 * The Store contract: the only thing workers share. A store keeps, per task hub, the instance
 * rows, each instance's history (current execution only), its inbox of pending messages, and the
 * activity task queue. Every method is atomic; a method that throws changed nothing. A write is
 * durable when its call returns, with one allowance: `commitOrchestrations` and
 * `completeActivities` (the engine's own steps) may return once their commit is visible, before
 * it is durable, if the store keeps one sequential log (nothing later becomes durable without
 * it) and refuses every later write should making it durable fail.
 *
 * Times are milliseconds since the epoch. Lease expiry is judged by the store's own clock.
 * Every method takes the task hub name first; hubs never see each other's data.
 */
import type { LeaseLostError } from "../core/errors.js";
import type { HistoryEvent, RuntimeStatus, TaskCompletedEvent, TaskFailedEvent } from "../core/events.js";
import type {
  Checkpoint,
  InboxMessage,
  InstanceRecord,
  NewActivityTask,
  NewInstance,
  NewMessage,
} from "../core/records.js";

export type {
  Checkpoint,
  ChildInstance,
  InboxMessage,
  InstanceRecord,
  InstanceUpdate,
  NewActivityTask,
  NewInstance,
  NewMessage,
} from "../core/records.js";

/** An exclusive, expiring claim on one orchestration instance. */
export interface OrchestrationLease {
  hub: string;
  instanceId: string;
  workerId: string;
  /** Fresh for every lease; every commit is fenced by it. */
  token: string;
  expiresAt: number;
}

/** What a worker gets when it leases an instance. */
export interface OrchestrationWorkItem {
  lease: OrchestrationLease;
  /** The row as it was when leased; undefined only for messages to an instance with no row. */
  instance: InstanceRecord;
  /** The current execution's history, in sequence order (empty when `historyOmitted`). */
  history: HistoryEvent[];
  /**
   * True when the history was left out because the caller said it already holds exactly the
   * stored history (see `LeaseOptions.known`).
   */
  historyOmitted?: boolean;
  /** Visible inbox messages, oldest first (by visibleAt, then arrival). */
  messages: InboxMessage[];
}

/** The history a worker already holds for an instance: of which execution, how many events. */
export interface KnownHistory {
  executionId: string;
  length: number;
}

/** Options of `Store.leaseOrchestrations`. */
export interface LeaseOptions {
  /** At most this many instances (≥ 1). */
  max: number;
  /**
   * Asked for each leased instance: when it returns the instance's current execution and the
   * exact length of its stored history, the work item comes without the history.
   */
  known?: (instanceId: string) => KnownHistory | undefined;
}

/**
 * The outcome of one commit of a batch: committed, or refused because its lease was lost. A
 * committed item may carry the activity tasks it created and leased to the claiming worker
 * (`ActivityClaim`), and, for a completion with a following step, whether that step committed.
 */
export type CommitOutcome =
  | {
      committed: true;
      /** Tasks this item created, already leased to the worker of the batch's `ActivityClaim`. */
      claimed?: ActivityWorkItem[];
      /** For a completion with `next`: true when the step committed with it (see `FollowingStep`). */
      stepped?: boolean;
    }
  | { committed: false; error: LeaseLostError };

/**
 * Asks a batch commit to lease the activity tasks it creates to the committing worker, in the same
 * transaction, so the worker runs them at once instead of leasing them in a transaction of their
 * own. The claimed tasks come back in the outcome of the item that created them.
 */
export interface ActivityClaim {
  workerId: string;
  /** Only tasks of these activity names are claimed. */
  names: readonly string[];
  leaseMs: number;
  /** At most this many tasks over the whole batch (0 claims none). */
  max: number;
}

/**
 * The orchestration step that consumes an activity's result, computed by the completing worker
 * from the replay state it holds, ahead of the completion. It commits in the completion's
 * transaction, instead of the result being queued in the inbox, only when the instance is exactly
 * as the step assumed: this execution and status, no live lease, no visible inbox message and a
 * history of exactly `historyLength` events. Otherwise the result is queued as usual.
 */
export interface FollowingStep {
  executionId: string;
  runtimeStatus: RuntimeStatus;
  historyLength: number;
  /** The step's checkpoint, with the result among its history events and no consumed messages. */
  checkpoint: Checkpoint;
}

/** Options of `Store.createInstance`. */
export interface CreateOptions {
  /**
   * The instance's first step, computed by the creating worker from the start event (for an
   * instance due now, not one with a later start time). The store commits it with the creation
   * instead of queueing the start message; its `consumedMessageIds` are ignored.
   */
  firstStep?: Checkpoint;
  /** Leases activity tasks the first step creates to the creating worker (see `ActivityClaim`). */
  claim?: ActivityClaim;
  /**
   * A store may hand the claimed tasks to this callback as soon as the creation is committed,
   * before it is durable (see the module comment), and then resolve with []; the call itself
   * still settles only once the creation is durable. Called at most once, only on success.
   */
  onCommitted?: (claimed: ActivityWorkItem[]) => void;
}

/** One activity completion of `Store.completeActivities`. */
export interface ActivityCompletion {
  lease: ActivityLease;
  result: TaskCompletedEvent | TaskFailedEvent;
  /** The step of the task's instance to commit with it when possible. */
  next?: FollowingStep;
}

/** An activity task as leased. */
export interface ActivityTask extends NewActivityTask {
  /** Store-assigned, unique within the hub. */
  id: string;
  /** How many times this task has been leased, this time included (1 on first delivery). */
  deliveryCount: number;
}

/** An exclusive, expiring claim on one activity task. */
export interface ActivityLease {
  hub: string;
  taskId: string;
  workerId: string;
  token: string;
  expiresAt: number;
}

/** What a worker gets when it leases an activity task. */
export interface ActivityWorkItem {
  lease: ActivityLease;
  task: ActivityTask;
}

/** Filters for listing and purging instances; all optional, combined with AND. */
export interface InstanceFilter {
  createdFrom?: number;
  createdTo?: number;
  runtimeStatus?: RuntimeStatus[];
  instanceIdPrefix?: string;
  /**
   * Only orchestrations, or only entities (whose instance IDs begin with "@"). Default: both.
   */
  instanceKind?: "orchestration" | "entity";
}

/** A page request: results are ordered by (createdAt, instanceId). */
export interface InstanceQuery extends InstanceFilter {
  /** 1..1000; default 100. */
  pageSize?: number;
  /** Opaque token from the previous page. */
  continuationToken?: string;
}

/** One page of instances. */
export interface InstancePage {
  instances: InstanceRecord[];
  /** Present when more instances may follow. */
  continuationToken?: string;
}

/** Something changed that a waiting worker or client may care about. */
export type StoreNotification =
  /**
   * The instance has a new inbox message. `visibleAt` (ms) is present when the message becomes
   * visible only later (a durable timer, a scheduled start or event): nothing is to be leased
   * before then.
   */
  | { kind: "orchestration-work"; instanceId: string; visibleAt?: number }
  | { kind: "activity-work" }
  | { kind: "instance-updated"; instanceId: string; runtimeStatus: RuntimeStatus }
  /**
   * Another process changed the store, and the store cannot tell what (SQLite): anything a
   * listener waits for may have changed, so it should look again.
   */
  | { kind: "external-change" };

/** Options of `Store.appendMessage`. */
export interface AppendOptions {
  /** Refuse (InstanceNotRunningError) when the instance is Completed, Failed or Terminated. */
  onlyIfActive?: boolean;
  /** Require status `from` (InvalidStateError otherwise) and switch to status `to`. */
  transition?: { from: RuntimeStatus; to: RuntimeStatus };
}

/** Due work of a hub at one moment (see `Store.queueStats`). */
export interface QueueStats {
  /** Due inbox messages, for orchestrations and entities. */
  messages: number;
  /** Visible time (epoch ms) of the oldest due message; undefined when there is none. */
  oldestMessageAt?: number;
  /** Due activity tasks, leased or not. */
  activities: number;
  /** Visible time (epoch ms) of the oldest due activity task; undefined when there is none. */
  oldestActivityAt?: number;
}

/** Options of `Store.purgeInstances`. */
export interface PurgeOptions {
  /** Leave alone instances with inbox messages or a live lease. */
  idleOnly?: boolean;
}

/** A durable store of task hubs. See the module comment for the shared rules. */
export interface Store {
  /** Human-readable kind, e.g. "sqlite". */
  readonly kind: string;

  /**
   * True when `subscribe` listeners also hear of changes made by other processes (PostgreSQL's
   * LISTEN/NOTIFY), so waiting callers need to poll only as a safety net.
   */
  readonly notifiesAcrossProcesses: boolean;

  /**
   * Opens the store and applies schema migrations. Idempotent. Throws `StoreCorruptError` for a
   * database that is not a Refrain store or has a newer schema.
   */
  open(): Promise<void>;

  /** Releases connections. Pending calls finish first; later calls throw `STORE_CLOSED`. */
  close(): Promise<void>;

  /**
   * Creates an instance row (status Pending) and queues its start message, atomically.
   * Throws `InstanceAlreadyExistsError` when an instance with the ID is Pending, Running or
   * Suspended. A terminal instance with the ID is replaced: its history, inbox and activity
   * tasks are deleted first. With `options.firstStep`, the row is created and the step committed
   * in the same transaction (no start message is queued); the result is the activity tasks the
   * step created that `options.claim` leased to the creating worker (always [] without a claim).
   */
  createInstance(hub: string, instance: NewInstance, options?: CreateOptions): Promise<ActivityWorkItem[]>;

  /**
   * Adds a message to an instance's inbox. Throws `InstanceNotFoundError` when the instance does
   * not exist, unless the message has `ensureTarget`: then a missing row is created first (status
   * Pending, no input, no notification of its own). Throws `InstanceNotRunningError` when
   * `onlyIfActive` and the instance is terminal
   * (Completed, Failed, Terminated). With `transition`, the instance must have status
   * `transition.from` (else `InvalidStateError`), and its status becomes `transition.to`
   * (lastUpdatedAt: now) in the same transaction — so a rewound instance stops looking Failed the
   * moment the request is acknowledged.
   */
  appendMessage(hub: string, message: NewMessage, options?: AppendOptions): Promise<void>;

  /** The instance row, or undefined. */
  getInstance(hub: string, instanceId: string): Promise<InstanceRecord | undefined>;

  /** The current execution's history in sequence order ([] for an unknown instance). */
  getHistory(hub: string, instanceId: string): Promise<HistoryEvent[]>;

  /** A page of instances matching the query, ordered by (createdAt, instanceId). */
  listInstances(hub: string, query: InstanceQuery): Promise<InstancePage>;

  /**
   * Deletes terminal instances (Completed, Failed, Terminated) matching the filter or the IDs,
   * with their history, inbox and activity tasks. Non-terminal matches are left alone. With
   * `idleOnly`, so is an instance with any inbox message or a live lease, judged atomically with
   * the deletion, so that a message arriving concurrently is never deleted with its target (how
   * empty entities are removed). Returns how many instances were deleted.
   */
  purgeInstances(
    hub: string,
    selector: { instanceIds: string[] } | { filter: InstanceFilter },
    options?: PurgeOptions,
  ): Promise<number>;

  /**
   * Leases the instance (among those whose name is in `names`) that has the oldest visible inbox
   * message and no live lease. Returns its row, history and every visible message, or undefined.
   * Messages for an instance without a row are deleted, never returned.
   */
  leaseNextOrchestration(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<OrchestrationWorkItem | undefined>;

  /**
   * Leases up to `options.max` instances, each chosen by the rule of `leaseNextOrchestration`
   * (oldest visible message first, skipping live leases), in one transaction, so a busy worker
   * pays one round trip for many. Fewer (or none) when fewer are eligible.
   */
  leaseOrchestrations(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]>;

  /**
   * Optional: leasing ahead (a store without it is never asked to). Leases exactly as
   * `leaseOrchestrations` does, but counts a message as visible when it becomes visible within
   * `aheadMs` (> 0) from now, so an idle worker can lease work about to come due and start each
   * step at its due time. Whether a lease is live is still judged at the current time. Work items
   * carry the messages visible by now + `aheadMs`; the caller must not act on one before its
   * `visibleAt`, and reads them again with `readLeasedMessages` when it steps.
   */
  leaseOrchestrationsAhead?(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]>;

  /**
   * Optional, with `leaseOrchestrationsAhead`: for each lease (all of `hub`), the messages of its
   * instance visible now, oldest first, in one read. A lease lost meanwhile may get any answer:
   * the step's commit is refused anyway.
   */
  readLeasedMessages?(hub: string, leases: readonly OrchestrationLease[]): Promise<InboxMessage[][]>;

  /**
   * Commits several steps (all of `hub`) in one transaction, each exactly as `commitOrchestration`
   * would and fenced by its own lease: a lost lease refuses only that step (its outcome carries the
   * `LeaseLostError`), the others commit. Outcomes are in the order of `commits`. Any other error
   * commits nothing and is thrown. With `claim`, the new activity tasks it allows are leased to the
   * claiming worker in the same transaction and returned in their step's outcome.
   */
  commitOrchestrations(
    hub: string,
    commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]>;

  /**
   * Commits one step atomically and releases the lease. Throws `LeaseLostError` (changing nothing)
   * when the lease token no longer matches. History is written at sequence numbers following the
   * stored history; a repeated sequence number is an error, never an overwrite. Messages with
   * `ensureTarget` create their target's row when it has none; a child whose ID is held by an
   * active instance is not created (its `conflictReply`, if any, is delivered instead).
   */
  commitOrchestration(lease: OrchestrationLease, checkpoint: Checkpoint): Promise<void>;

  /** Extends a lease by `leaseMs` from now. Throws `LeaseLostError` if it is no longer held. */
  renewOrchestrationLease(lease: OrchestrationLease, leaseMs: number): Promise<OrchestrationLease>;

  /**
   * Releases the lease without committing; the messages become leasable again after `delayMs`
   * (default 0). A lost lease is ignored.
   */
  abandonOrchestration(lease: OrchestrationLease, delayMs?: number): Promise<void>;

  /**
   * Leases the oldest visible activity task whose name is in `names` and that has no live lease,
   * incrementing its delivery count. Returns undefined when there is none.
   */
  leaseNextActivity(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<ActivityWorkItem | undefined>;

  /** Leases up to `max` activity tasks by the rule of `leaseNextActivity`, in one transaction. */
  leaseActivities(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    max: number,
  ): Promise<ActivityWorkItem[]>;

  /**
   * Completes several activity tasks (all of `hub`) in one transaction, each as `completeActivity`
   * would; a lost lease refuses only that completion. Outcomes are in the order of `completions`.
   * A completion with `next` commits that step instead of queueing its result when the instance
   * allows it (`FollowingStep`; outcome `stepped`). With `claim`, activity tasks those steps create
   * are leased to the claiming worker, as in `commitOrchestrations`.
   */
  completeActivities(
    hub: string,
    completions: readonly ActivityCompletion[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]>;

  /**
   * Deletes the task and adds its result to the instance's inbox (targeted at the task's
   * execution), atomically. Throws `LeaseLostError` (changing nothing) when the lease is lost.
   */
  completeActivity(lease: ActivityLease, result: TaskCompletedEvent | TaskFailedEvent): Promise<void>;

  /** Extends an activity lease. Throws `LeaseLostError` if it is no longer held. */
  renewActivityLease(lease: ActivityLease, leaseMs: number): Promise<ActivityLease>;

  /** Releases an activity lease; the task is redelivered after `delayMs`. A lost lease is ignored. */
  abandonActivity(lease: ActivityLease, delayMs?: number): Promise<void>;

  /**
   * The earliest time at which an inbox message (for `orchestratorNames`) or an activity task
   * (for `activityNames`) becomes visible; undefined when there is none. Work held by a lease
   * that expires after its visible time is left out: it returns through its holder's commit or
   * release (which announce it) or, should the holder die, through the workers' polling once the
   * lease has expired. Workers sleep until then.
   */
  nextWakeUp(
    hub: string,
    orchestratorNames: readonly string[],
    activityNames: readonly string[],
  ): Promise<number | undefined>;

  /**
   * What waits in the hub at `now`: inbox messages (of orchestrations and entities) and activity
   * tasks that are due (visible at or before `now`) and not yet consumed, leased or not, with the
   * visible time of the oldest of each. Read-only; used for the queue gauges.
   */
  queueStats(hub: string, now: number): Promise<QueueStats>;

  /**
   * Registers a listener for changes made through this store (and, for shared databases,
   * other processes where supported). Returns the unsubscribe function. Listeners must not throw.
   * A change is announced once it is durable: by the time its call returns, except for
   * `commitOrchestrations` / `completeActivities` settled early (see the module comment).
   */
  subscribe(hub: string, listener: (notification: StoreNotification) => void): () => void;
}
