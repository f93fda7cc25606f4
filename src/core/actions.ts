/**
 * Orchestrator actions: what one replay step asks the runtime to do. Each action carries the
 * sequence number (`id`) that becomes the `eventId` of the history event recording it.
 */
import type { Payload } from "./codec.js";
import type { FailureDetails } from "./errors.js";
import type { EventRaisedEvent } from "./events.js";

/** Run an activity. Recorded as TaskScheduled. */
export interface ScheduleTaskAction {
  kind: "ScheduleTask";
  id: number;
  name: string;
  input?: Payload;
  /** 1-based attempt number under a retry policy. */
  attempt?: number;
}

/** Start a durable timer. Recorded as TimerCreated. */
export interface CreateTimerAction {
  kind: "CreateTimer";
  id: number;
  /** ISO-8601 time. */
  fireAt: string;
}

/** Start a sub-orchestration. Recorded as SubOrchestrationInstanceCreated. */
export interface CreateSubOrchestrationAction {
  kind: "CreateSubOrchestration";
  id: number;
  name: string;
  instanceId: string;
  input?: Payload;
}

/** Raise an event on another instance. Recorded as EventSent. */
export interface SendEventAction {
  kind: "SendEvent";
  id: number;
  instanceId: string;
  name: string;
  input?: Payload;
}

/** End this execution. Recorded as ExecutionCompleted. */
export interface CompleteOrchestrationAction {
  kind: "CompleteOrchestration";
  id: number;
  status: "Completed" | "Failed" | "Terminated" | "ContinuedAsNew";
  result?: Payload;
  failure?: FailureDetails;
  /** ContinuedAsNew only: the next execution's input. */
  newInput?: Payload;
  /** ContinuedAsNew with `preserveUnprocessedEvents`: events not yet consumed, in arrival order. */
  carryoverEvents?: EventRaisedEvent[];
}

/** Call an entity operation and wait for its result. Recorded as EntityOperationCalled. */
export interface CallEntityAction {
  kind: "CallEntity";
  id: number;
  requestId: string;
  /** The entity's instance ID (`@name@key`). */
  entityId: string;
  operation: string;
  input?: Payload;
}

/** Send a one-way entity operation. Recorded as EntityOperationSignaled. */
export interface SignalEntityAction {
  kind: "SignalEntity";
  id: number;
  requestId: string;
  entityId: string;
  operation: string;
  input?: Payload;
  /** ISO time: deliver the signal then instead of now. */
  scheduledTime?: string;
}

/** Request a critical section over `lockSet` (sorted, distinct). Recorded as EntityLockRequested. */
export interface LockEntitiesAction {
  kind: "LockEntities";
  id: number;
  criticalSectionId: string;
  lockSet: string[];
}

/** Release one entity of the held critical section. Recorded as EntityUnlockSent. */
export interface UnlockEntityAction {
  kind: "UnlockEntity";
  id: number;
  criticalSectionId: string;
  entityId: string;
}

/** Every orchestrator action. */
export type OrchestratorAction =
  | ScheduleTaskAction
  | CreateTimerAction
  | CreateSubOrchestrationAction
  | SendEventAction
  | CompleteOrchestrationAction
  | CallEntityAction
  | SignalEntityAction
  | LockEntitiesAction
  | UnlockEntityAction;

/** Short human-readable description of an action, for error messages. */
export function describeAction(action: OrchestratorAction): string {
  switch (action.kind) {
    case "ScheduleTask":
      return `scheduled activity '${action.name}'`;
    case "CreateTimer":
      return `created a timer for ${action.fireAt}`;
    case "CreateSubOrchestration":
      return `started sub-orchestration '${action.name}' (instance '${action.instanceId}')`;
    case "SendEvent":
      return `sent event '${action.name}' to instance '${action.instanceId}'`;
    case "CompleteOrchestration":
      return `completed the orchestration (${action.status})`;
    case "CallEntity":
      return `called operation '${action.operation}' of entity '${action.entityId}'`;
    case "SignalEntity":
      return `signalled operation '${action.operation}' to entity '${action.entityId}'`;
    case "LockEntities":
      return `requested a lock on ${action.lockSet.map((id) => `'${id}'`).join(", ")}`;
    case "UnlockEntity":
      return `released its lock on entity '${action.entityId}'`;
    default: {
      const never: never = action;
      return String(never);
    }
  }
}
