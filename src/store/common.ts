/**
 * Pure helpers shared by every Store implementation, so that all stores agree exactly on the
 * details the contract leaves to code: which statuses are active, how continuation tokens look,
 * how filters match, and how notifications are delivered.
 */
import { InvalidArgumentError, InvalidStateError, RefrainError } from "../core/errors.js";
import type { RuntimeStatus } from "../core/events.js";
import type {
  ActivityClaim,
  ActivityWorkItem,
  CommitOutcome,
  InstanceFilter,
  InstancePage,
  InstanceRecord,
  QueueStats,
  StoreNotification,
} from "./store.js";

/** Default `pageSize` of `listInstances`. */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest accepted `pageSize` of `listInstances`. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Which kinds of instance can carry one of `names`: entity rows are named "@" plus the entity
 * name and no orchestrator name begins with "@" (registration refuses it). True: entities only;
 * false: orchestrations only; undefined: both. Entity instance IDs begin with "@", orchestration
 * IDs never do, so stores can index their inboxes by kind (ADR 010).
 */
export function entityNamesOnly(names: readonly string[]): boolean | undefined {
  const entities = names.filter((n) => n.startsWith("@")).length;
  if (entities === 0) return false;
  return entities === names.length ? true : undefined;
}

/** The parts of the inbox a worker serving `names` reads, by kind: true for entities, false for orchestrations. */
export function inboxKindsOf(names: readonly string[]): boolean[] {
  const entities = entityNamesOnly(names);
  return entities === undefined ? [false, true] : [entities];
}

/**
 * True for statuses that block creating a new instance with the same ID: Pending, Running,
 * Suspended, and ContinuedAsNew (an instance between two executions is still alive).
 */
export function isActiveStatus(status: RuntimeStatus): boolean {
  return (
    status === "Pending" || status === "Running" || status === "Suspended" || status === "ContinuedAsNew"
  );
}

/** The error every store method throws after `close()` (or before `open()`). */
export function storeClosedError(kind: string, opened: boolean): RefrainError {
  return new RefrainError(
    "STORE_CLOSED",
    opened ? `the ${kind} store is closed` : `the ${kind} store is not open: call open() first`,
  );
}

/** A copy of `obj` without the keys whose value is `undefined` (or `null`). */
export function stripUndefined<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  const source = obj as Record<string, unknown>;
  // Object.keys rather than Object.entries: no [key, value] array per property (this runs for
  // every row a store maps).
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out as T;
}

/** Validates `pageSize` (an integer in 1..1000; default 100). */
export function validatePageSize(pageSize: number | undefined): number {
  if (pageSize === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
  return pageSize;
}

/** The position after which the next page starts: the last (createdAt, instanceId) returned. */
export interface PageCursor {
  createdAt: number;
  instanceId: string;
}

/** Encodes a page cursor as an opaque token (base64url of JSON). */
export function encodeContinuationToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.instanceId]), "utf8").toString("base64url");
}

/**
 * The page of the first `pageSize` of `matching` (the instances after the cursor, in list order,
 * read with at least one more than a page when there are more), with the next page's token when
 * more follow.
 */
export function instancePage(matching: InstanceRecord[], pageSize: number): InstancePage {
  const instances = matching.slice(0, pageSize);
  const last = instances[instances.length - 1];
  const page: InstancePage = { instances };
  if (matching.length > pageSize && last) {
    page.continuationToken = encodeContinuationToken({
      createdAt: last.createdAt,
      instanceId: last.instanceId,
    });
  }
  return page;
}

/** Decodes a token made by `encodeContinuationToken`; throws `InvalidArgumentError` otherwise. */
export function decodeContinuationToken(token: string): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== "number" ||
    !Number.isFinite(parsed[0]) ||
    typeof parsed[1] !== "string"
  ) {
    throw new InvalidArgumentError(
      "invalid continuation token: pass the token from the previous page unchanged",
    );
  }
  return { createdAt: parsed[0], instanceId: parsed[1] };
}

/** Validates a filter's fields (types only); throws `InvalidArgumentError`. */
export function validateFilter(filter: InstanceFilter): void {
  for (const key of ["createdFrom", "createdTo"] as const) {
    const value = filter[key];
    if (value !== undefined && (typeof value !== "number" || Number.isNaN(value))) {
      throw new InvalidArgumentError(`${key} must be a number of milliseconds since the epoch`);
    }
  }
  if (filter.runtimeStatus !== undefined && !Array.isArray(filter.runtimeStatus)) {
    throw new InvalidArgumentError("runtimeStatus must be an array of statuses");
  }
  if (filter.instanceIdPrefix !== undefined && typeof filter.instanceIdPrefix !== "string") {
    throw new InvalidArgumentError("instanceIdPrefix must be a string");
  }
  const kind = filter.instanceKind;
  if (kind !== undefined && kind !== "orchestration" && kind !== "entity") {
    throw new InvalidArgumentError(`instanceKind must be "orchestration" or "entity", got ${String(kind)}`);
  }
}

/**
 * True when the record matches every given filter field. `createdFrom` is inclusive, `createdTo`
 * exclusive, `instanceIdPrefix` literal; an empty `runtimeStatus` array means no status filter;
 * entities are the instances whose ID begins with "@".
 */
export function matchesFilter(record: InstanceRecord, filter: InstanceFilter): boolean {
  if (filter.createdFrom !== undefined && record.createdAt < filter.createdFrom) return false;
  if (filter.createdTo !== undefined && record.createdAt >= filter.createdTo) return false;
  if (filter.runtimeStatus?.length && !filter.runtimeStatus.includes(record.runtimeStatus)) return false;
  if (filter.instanceIdPrefix !== undefined && !record.instanceId.startsWith(filter.instanceIdPrefix)) {
    return false;
  }
  if (
    filter.instanceKind !== undefined &&
    record.instanceId.startsWith("@") !== (filter.instanceKind === "entity")
  ) {
    return false;
  }
  return true;
}

/** Orders records by (createdAt, instanceId), the listing order. */
export function compareListOrder(a: PageCursor, b: PageCursor): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
}

/** Validates the `max` of a batch lease: an integer from 1 to 1000. */
export function validateBatchSize(max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`max must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${max}`);
  }
  return max;
}

/** The outcome of a committed item of a batch. */
export const COMMITTED: CommitOutcome = { committed: true };

/** The outcome of a committed item that claimed tasks or took a following step (or not). */
export function committedWith(claimed: readonly ActivityWorkItem[], stepped?: boolean): CommitOutcome {
  if (claimed.length === 0 && stepped === undefined) return COMMITTED;
  return {
    committed: true,
    ...(claimed.length > 0 && { claimed: [...claimed] }),
    ...(stepped !== undefined && { stepped }),
  };
}

/**
 * What is left of a batch's `ActivityClaim` while the batch is written: which new tasks to lease
 * to the claiming worker, and until when.
 */
export class ClaimBudget {
  private readonly names: ReadonlySet<string>;
  private left: number;
  /** The claimed leases' expiry. */
  readonly expiresAt: number;

  constructor(
    readonly claim: ActivityClaim | undefined,
    now: number,
  ) {
    if (claim !== undefined) {
      if (!Number.isInteger(claim.max) || claim.max < 0)
        throw new InvalidArgumentError(`claim.max must be an integer ≥ 0, got ${claim.max}`);
      validateDuration("claim.leaseMs", claim.leaseMs, false);
    }
    this.names = new Set(claim?.names ?? []);
    this.left = claim?.max ?? 0;
    this.expiresAt = now + (claim?.leaseMs ?? 0);
  }

  /** The claiming worker; undefined without a claim. */
  get workerId(): string | undefined {
    return this.claim?.workerId;
  }

  /** True, counting it, when a new task of activity `name` is to be claimed. */
  take(name: string): boolean {
    if (this.left === 0 || !this.names.has(name)) return false;
    this.left--;
    return true;
  }
}

/** Throws the error of a single-item batch whose lease was lost. */
export function throwIfRefused(outcomes: readonly CommitOutcome[]): void {
  const outcome = outcomes[0];
  if (outcome && !outcome.committed) throw outcome.error;
}

/** Validates a lease duration or delay in milliseconds. */
export function validateDuration(what: string, ms: number, allowZero: boolean): void {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new InvalidArgumentError(
      `${what} must be a ${allowZero ? "non-negative" : "positive"} number, got ${ms}`,
    );
  }
}

/** Per-hub in-process listeners. Exceptions thrown by listeners are caught and ignored. */
export class NotificationHub {
  private readonly listeners = new Map<string, Set<(n: StoreNotification) => void>>();

  /** Registers a listener for one hub; returns the unsubscribe function. */
  subscribe(hub: string, listener: (n: StoreNotification) => void): () => void {
    let set = this.listeners.get(hub);
    if (!set) {
      set = new Set();
      this.listeners.set(hub, set);
    }
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (n: StoreNotification): void => listener(n);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.listeners.get(hub) === set) this.listeners.delete(hub);
    };
  }

  /** Delivers notifications to the hub's listeners, in order. */
  emit(hub: string, notifications: readonly StoreNotification[]): void {
    const set = this.listeners.get(hub);
    if (!set || notifications.length === 0) return;
    for (const n of notifications) {
      for (const listener of [...set]) {
        try {
          listener(n);
        } catch {
          // Listeners must not throw; a faulty one must not break the store.
        }
      }
    }
  }

  /** True while any hub has a listener. */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Delivers one notification to the listeners of every hub. */
  emitToAll(notification: StoreNotification): void {
    for (const hub of [...this.listeners.keys()]) this.emit(hub, [notification]);
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}

/** Collects the notifications of one operation, without duplicates, to emit after it commits. */
export class NotificationBatch {
  /** Instances with new messages, each with the earliest one's visibleAt (0: visible now). */
  private readonly work = new Map<string, number>();
  private activity = false;
  private readonly updated = new Map<string, RuntimeStatus>();

  /** An inbox message was added for the instance, visible from `visibleAt` (default: now). */
  orchestrationWork(instanceId: string, visibleAt = 0): void {
    const earliest = this.work.get(instanceId);
    if (earliest === undefined || visibleAt < earliest) this.work.set(instanceId, visibleAt);
  }

  /** Activity tasks were added or released. */
  activityWork(): void {
    this.activity = true;
  }

  /** The instance's row status changed (or the row was created). */
  instanceUpdated(instanceId: string, runtimeStatus: RuntimeStatus): void {
    this.updated.set(instanceId, runtimeStatus);
  }

  /** The notifications, status changes first, then work. */
  toList(): StoreNotification[] {
    const out: StoreNotification[] = [];
    for (const [instanceId, runtimeStatus] of this.updated) {
      out.push({ kind: "instance-updated", instanceId, runtimeStatus });
    }
    const now = Date.now();
    for (const [instanceId, visibleAt] of this.work) {
      out.push(
        visibleAt > now
          ? { kind: "orchestration-work", instanceId, visibleAt }
          : { kind: "orchestration-work", instanceId },
      );
    }
    if (this.activity) out.push({ kind: "activity-work" });
    return out;
  }
}

/** The error for an `appendMessage` transition whose `from` status does not match. */
export function transitionMismatch(instanceId: string, actual: string, expected: string): InvalidStateError {
  return new InvalidStateError(
    `instance '${instanceId}' is ${actual}; this request needs it to be ${expected}`,
  );
}

/** Builds `QueueStats` from counts and oldest visible times as SQL returns them (null: none). */
export function toQueueStats(
  messages: number | string,
  oldestMessage: number | string | null,
  activities: number | string,
  oldestActivity: number | string | null,
): QueueStats {
  return {
    messages: Number(messages),
    activities: Number(activities),
    ...(oldestMessage !== null && { oldestMessageAt: Number(oldestMessage) }),
    ...(oldestActivity !== null && { oldestActivityAt: Number(oldestActivity) }),
  };
}
