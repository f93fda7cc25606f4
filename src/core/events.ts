/**
 * History events: the append-only record of one orchestration execution. Each kind maps one-to-one
 * onto the Durable Task Framework event of the same name. An action's sequence number becomes the
 * `eventId` of the event that records it; completions point back to it (`taskScheduledId`, `timerId`).
 * Payloads are JSON text (see codec.ts); `undefined` payloads are absent.
 */
import type { Payload } from "./codec.js";
import type { FailureDetails } from "./errors.js";

/** Runtime status of an orchestration instance. */
export type RuntimeStatus =
  | "Pending"
  | "Running"
  | "Completed"
  | "ContinuedAsNew"
  | "Failed"
  | "Terminated"
  | "Suspended";

/** Every runtime status, in display order. */
export const RUNTIME_STATUSES: readonly RuntimeStatus[] = [
  "Pending",
  "Running",
  "Completed",
  "ContinuedAsNew",
  "Failed",
  "Terminated",
  "Suspended",
];

/** Statuses after which an instance never runs again (unless rewound or replaced). */
export function isTerminalStatus(status: RuntimeStatus): boolean {
  return status === "Completed" || status === "Failed" || status === "Terminated";
}

/** The parent of a sub-orchestration: where its result is reported. */
export interface ParentInfo {
  instanceId: string;
  executionId: string;
  name: string;
  /** Sequence number of the parent's CreateSubOrchestration action. */
  taskScheduledId: number;
}

interface EventBase {
  /** Sequence number of the action this event records, or -1 for events not created by an action. */
  eventId: number;
  /** ISO-8601 time the event was recorded. */
  timestamp: string;
}

/** The first event of every execution. */
export interface ExecutionStartedEvent extends EventBase {
  kind: "ExecutionStarted";
  name: string;
  instanceId: string;
  executionId: string;
  input?: Payload;
  parent?: ParentInfo;
  /** ISO time the start was scheduled for (`startNew({ startAt })`). */
  scheduledStartTime?: string;
  /** W3C traceparent of the span that started this execution (client, parent or previous execution). */
  traceContext?: string;
}

/** Marks the start of one orchestrator step; its timestamp is `currentUtcDateTime`. */
export interface OrchestratorStartedEvent extends EventBase {
  kind: "OrchestratorStarted";
}

/** An activity was scheduled (eventId = the action's sequence number). */
export interface TaskScheduledEvent extends EventBase {
  kind: "TaskScheduled";
  name: string;
  input?: Payload;
  /** 1-based attempt number under a retry policy. */
  attempt?: number;
}

/** An activity returned. */
export interface TaskCompletedEvent extends EventBase {
  kind: "TaskCompleted";
  taskScheduledId: number;
  result?: Payload;
}

/** An activity threw. */
export interface TaskFailedEvent extends EventBase {
  kind: "TaskFailed";
  taskScheduledId: number;
  failure: FailureDetails;
}

/** A durable timer was created (eventId = the action's sequence number). */
export interface TimerCreatedEvent extends EventBase {
  kind: "TimerCreated";
  fireAt: string;
}

/** A durable timer fired. */
export interface TimerFiredEvent extends EventBase {
  kind: "TimerFired";
  timerId: number;
  fireAt: string;
}

/** A sub-orchestration was started (eventId = the action's sequence number). */
export interface SubOrchestrationInstanceCreatedEvent extends EventBase {
  kind: "SubOrchestrationInstanceCreated";
  name: string;
  instanceId: string;
  input?: Payload;
}

/** A sub-orchestration completed. */
export interface SubOrchestrationInstanceCompletedEvent extends EventBase {
  kind: "SubOrchestrationInstanceCompleted";
  taskScheduledId: number;
  result?: Payload;
}

/** A sub-orchestration failed (or could not be started). */
export interface SubOrchestrationInstanceFailedEvent extends EventBase {
  kind: "SubOrchestrationInstanceFailed";
  taskScheduledId: number;
  failure: FailureDetails;
}

/** An external event arrived. */
export interface EventRaisedEvent extends EventBase {
  kind: "EventRaised";
  name: string;
  input?: Payload;
}

/** This orchestration sent an event to another instance (eventId = the action's sequence number). */
export interface EventSentEvent extends EventBase {
  kind: "EventSent";
  instanceId: string;
  name: string;
  input?: Payload;
}

/** The instance was suspended: later events wait until it is resumed. */
export interface ExecutionSuspendedEvent extends EventBase {
  kind: "ExecutionSuspended";
  reason?: string;
}

/** The instance was resumed. */
export interface ExecutionResumedEvent extends EventBase {
  kind: "ExecutionResumed";
  reason?: string;
}

/** The instance was terminated by request. */
export interface ExecutionTerminatedEvent extends EventBase {
  kind: "ExecutionTerminated";
  reason?: string;
  /** Terminate running sub-orchestrations too. */
  recursive?: boolean;
}

/** A failed instance was rewound: failed and unfinished steps run again. */
export interface ExecutionRewoundEvent extends EventBase {
  kind: "ExecutionRewound";
  reason?: string;
}

/** The execution ended. */
export interface ExecutionCompletedEvent extends EventBase {
  kind: "ExecutionCompleted";
  status: "Completed" | "Failed" | "Terminated" | "ContinuedAsNew";
  result?: Payload;
  failure?: FailureDetails;
}

/**
 * An orchestration called an entity operation and waits for its result (eventId = the action's
 * sequence number). In history it names the entity (`targetInstanceId`); as the message the
 * entity receives it names the caller (`parentInstanceId`, `parentExecutionId`) instead.
 */
export interface EntityOperationCalledEvent extends EventBase {
  kind: "EntityOperationCalled";
  /** Unique per call; the response carries it back. */
  requestId: string;
  operation: string;
  input?: Payload;
  targetInstanceId?: string;
  parentInstanceId?: string;
  parentExecutionId?: string;
}

/**
 * A one-way entity operation was sent (by an orchestration, an entity or a client). In an
 * orchestration's history eventId is the action's sequence number and `targetInstanceId` names
 * the entity; `scheduledTime` is set for signals delivered later.
 */
export interface EntityOperationSignaledEvent extends EventBase {
  kind: "EntityOperationSignaled";
  requestId: string;
  operation: string;
  input?: Payload;
  targetInstanceId?: string;
  scheduledTime?: string;
}

/** An entity operation called by this orchestration returned. */
export interface EntityOperationCompletedEvent extends EventBase {
  kind: "EntityOperationCompleted";
  requestId: string;
  result?: Payload;
}

/** An entity operation called by this orchestration threw; its state change was rolled back. */
export interface EntityOperationFailedEvent extends EventBase {
  kind: "EntityOperationFailed";
  requestId: string;
  failure: FailureDetails;
}

/**
 * A critical section was requested (eventId = the action's sequence number). The request travels
 * through `lockSet` (sorted entity instance IDs) in order: the entity at `position` locks itself
 * and forwards it to the next one; the last grants the lock to `parentInstanceId`.
 */
export interface EntityLockRequestedEvent extends EventBase {
  kind: "EntityLockRequested";
  criticalSectionId: string;
  lockSet: string[];
  position: number;
  parentInstanceId?: string;
  parentExecutionId?: string;
}

/** Every entity of the critical section's lock set is locked for this orchestration. */
export interface EntityLockGrantedEvent extends EventBase {
  kind: "EntityLockGranted";
  criticalSectionId: string;
  /** The locked entities, so that a grant nobody waits for any more can be released. */
  lockSet: string[];
}

/**
 * A critical section's lock on one entity was released (eventId = the action's sequence number
 * in history, where `targetInstanceId` names the entity; as a message `parentInstanceId` names the
 * lock holder).
 */
export interface EntityUnlockSentEvent extends EventBase {
  kind: "EntityUnlockSent";
  criticalSectionId: string;
  targetInstanceId?: string;
  parentInstanceId?: string;
}

/** Every history event. */
export type HistoryEvent =
  | ExecutionStartedEvent
  | OrchestratorStartedEvent
  | TaskScheduledEvent
  | TaskCompletedEvent
  | TaskFailedEvent
  | TimerCreatedEvent
  | TimerFiredEvent
  | SubOrchestrationInstanceCreatedEvent
  | SubOrchestrationInstanceCompletedEvent
  | SubOrchestrationInstanceFailedEvent
  | EventRaisedEvent
  | EventSentEvent
  | ExecutionSuspendedEvent
  | ExecutionResumedEvent
  | ExecutionTerminatedEvent
  | ExecutionRewoundEvent
  | ExecutionCompletedEvent
  | EntityOperationCalledEvent
  | EntityOperationSignaledEvent
  | EntityOperationCompletedEvent
  | EntityOperationFailedEvent
  | EntityLockRequestedEvent
  | EntityLockGrantedEvent
  | EntityUnlockSentEvent;

/** The kinds of history event. */
export type HistoryEventKind = HistoryEvent["kind"];

/** Messages an entity receives: operations, lock requests and releases. */
export type EntityRequestEvent =
  | EntityOperationCalledEvent
  | EntityOperationSignaledEvent
  | EntityLockRequestedEvent
  | EntityUnlockSentEvent;

/**
 * Events that arrive as inbox messages (from clients, activities, timers, entities, other
 * instances). Entity requests arrive at entities; the other kinds at orchestrations.
 */
export type InboxEvent =
  | EntityRequestEvent
  | EntityOperationCompletedEvent
  | EntityOperationFailedEvent
  | EntityLockGrantedEvent
  | ExecutionStartedEvent
  | TaskCompletedEvent
  | TaskFailedEvent
  | TimerFiredEvent
  | SubOrchestrationInstanceCompletedEvent
  | SubOrchestrationInstanceFailedEvent
  | EventRaisedEvent
  | ExecutionSuspendedEvent
  | ExecutionResumedEvent
  | ExecutionTerminatedEvent
  | ExecutionRewoundEvent;

/** Distributive `Omit` over a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Builds an event, filling `eventId` (default -1) and `timestamp`. */
export function makeEvent<E extends HistoryEvent>(
  timestamp: Date | string,
  fields: DistributiveOmit<E, "eventId" | "timestamp"> & { eventId?: number },
): E {
  return {
    eventId: -1,
    ...fields,
    timestamp: typeof timestamp === "string" ? timestamp : isoString(timestamp),
  } as E;
}

let lastTime = Number.NaN;
let lastIso = "";

/**
 * `date.toISOString()`, remembered for the last time value: the events of one step share their
 * timestamp, and the conversion costs more than building the event (about 0.5 µs).
 */
function isoString(date: Date): string {
  const time = date.getTime();
  if (time !== lastTime) {
    lastIso = date.toISOString();
    lastTime = time;
  }
  return lastIso;
}
