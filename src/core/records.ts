/**
 * The records one orchestrator step reads and writes: instance rows, inbox messages and the
 * checkpoint a step commits. Plain data shared by the core (which builds checkpoints) and the
 * stores (which persist them).
 */
import type { Payload } from "./codec.js";
import type { FailureDetails } from "./errors.js";
import type {
  ExecutionStartedEvent,
  HistoryEvent,
  InboxEvent,
  ParentInfo,
  RuntimeStatus,
  SubOrchestrationInstanceFailedEvent,
} from "./events.js";

/** One orchestration instance as stored. */
export interface InstanceRecord {
  instanceId: string;
  name: string;
  /** Current execution; changes on continue-as-new and on restart with the same ID. */
  executionId: string;
  runtimeStatus: RuntimeStatus;
  input?: Payload;
  output?: Payload;
  customStatus?: Payload;
  failure?: FailureDetails;
  parent?: ParentInfo;
  createdAt: number;
  lastUpdatedAt: number;
  completedAt?: number;
}

/** A message waiting in an instance's inbox. */
export interface InboxMessage {
  /** Store-assigned, unique within the hub. */
  id: string;
  instanceId: string;
  /** When set, the message only applies to this execution and is dropped by any other. */
  executionId?: string;
  event: InboxEvent;
  /** Not leased before this time (timers, delayed starts). */
  visibleAt: number;
}

/** A message to add to an inbox. */
export interface NewMessage extends Omit<InboxMessage, "id"> {
  /**
   * When the target has no instance row, one is created first (status Pending, this name and
   * execution ID, no input), in the same transaction: entities come to exist with their first message.
   */
  ensureTarget?: { name: string; executionId: string };
}

/** A new instance: its row (status Pending) plus the ExecutionStarted message that starts it. */
export interface NewInstance {
  instanceId: string;
  name: string;
  executionId: string;
  input?: Payload;
  parent?: ParentInfo;
  createdAt: number;
  /** The start message; delivered at `visibleAt` (later than now for `startAt`). */
  started: ExecutionStartedEvent;
  visibleAt: number;
}

/** A sub-orchestration to create as part of a checkpoint. */
export interface ChildInstance extends NewInstance {
  /**
   * When an instance with this ID is already Pending, Running or Suspended the child is not
   * created, and this message (if given) is delivered to the parent instead.
   */
  conflictReply?: NewMessage & { event: SubOrchestrationInstanceFailedEvent };
}

/** The instance row after a checkpoint. */
export interface InstanceUpdate {
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** Replaces the stored input (continue-as-new). Left unchanged when absent. */
  input?: Payload;
  output?: Payload;
  customStatus?: Payload;
  failure?: FailureDetails;
  lastUpdatedAt: number;
  completedAt?: number;
}

/** An activity invocation to enqueue. */
export interface NewActivityTask {
  instanceId: string;
  executionId: string;
  /** The TaskScheduled event's eventId. */
  taskId: number;
  name: string;
  input?: Payload;
  /** 1-based attempt number under a retry policy. */
  attempt: number;
}

/** Everything one orchestrator step changes, committed in one transaction. */
export interface Checkpoint {
  /**
   * `append`: add `events` after the current history. `replace`: the history becomes `events`
   * (continue-as-new starts a new execution; rewind rewrites the failed one).
   */
  history: { mode: "append" | "replace"; events: HistoryEvent[] };
  /** Inbox messages this step consumed; they are deleted. */
  consumedMessageIds: string[];
  instance: InstanceUpdate;
  activities: NewActivityTask[];
  /** Messages to any instance: own timers, results to a parent, events to others. */
  messages: NewMessage[];
  /**
   * Orchestrations to create: sub-orchestrations, and orchestrations started by entities (an
   * existing terminal instance with the same ID is replaced).
   */
  children: ChildInstance[];
}

/** The row of a new instance: Pending, with the creation's fields. */
export function pendingRecord(instance: NewInstance): InstanceRecord {
  const record: InstanceRecord = {
    instanceId: instance.instanceId,
    name: instance.name,
    executionId: instance.executionId,
    runtimeStatus: "Pending",
    createdAt: instance.createdAt,
    lastUpdatedAt: instance.createdAt,
  };
  if (instance.input !== undefined) record.input = instance.input;
  if (instance.parent !== undefined) record.parent = instance.parent;
  return record;
}

/** The instance row as a committed checkpoint leaves it (lease aside). */
export function applyInstanceUpdate(before: InstanceRecord, update: InstanceUpdate): InstanceRecord {
  const after: InstanceRecord = {
    instanceId: before.instanceId,
    name: before.name,
    executionId: update.executionId,
    runtimeStatus: update.runtimeStatus,
    createdAt: before.createdAt,
    lastUpdatedAt: update.lastUpdatedAt,
  };
  const input = Object.hasOwn(update, "input") ? update.input : before.input;
  if (input !== undefined) after.input = input;
  if (update.output !== undefined) after.output = update.output;
  if (update.customStatus !== undefined) after.customStatus = update.customStatus;
  if (update.failure !== undefined) after.failure = update.failure;
  if (before.parent !== undefined) after.parent = before.parent;
  if (update.completedAt !== undefined) after.completedAt = update.completedAt;
  return after;
}
