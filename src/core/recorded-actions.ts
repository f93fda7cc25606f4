/**
 * How replay recognises recorded calls: which history event records which kind of action, when a
 * new action is the same call as a recorded one, and how a recorded call reads in a
 * NonDeterminismError message.
 */
import type { OrchestratorAction } from "./actions.js";
import type { HistoryEvent } from "./events.js";

/** History events that record an orchestrator action (their eventId is its sequence number). */
export type RecordedActionEvent = Extract<
  HistoryEvent,
  {
    kind:
      | "TaskScheduled"
      | "TimerCreated"
      | "SubOrchestrationInstanceCreated"
      | "EventSent"
      | "EntityOperationCalled"
      | "EntityOperationSignaled"
      | "EntityLockRequested"
      | "EntityUnlockSent";
  }
>;

/** True when `event` records an orchestrator action. */
export function isRecordedActionEvent(event: HistoryEvent): event is RecordedActionEvent {
  switch (event.kind) {
    case "TaskScheduled":
    case "TimerCreated":
    case "SubOrchestrationInstanceCreated":
    case "EventSent":
    case "EntityOperationCalled":
    case "EntityOperationSignaled":
    case "EntityLockRequested":
    case "EntityUnlockSent":
      return true;
    default:
      return false;
  }
}

/** True when `action` is the call `event` recorded: the same kind of action with the same target. */
export function matchesRecorded(action: OrchestratorAction, event: RecordedActionEvent): boolean {
  switch (event.kind) {
    case "TaskScheduled":
      return action.kind === "ScheduleTask" && action.name === event.name;
    case "TimerCreated":
      return action.kind === "CreateTimer";
    case "SubOrchestrationInstanceCreated":
      return action.kind === "CreateSubOrchestration" && action.name === event.name;
    case "EventSent":
      return action.kind === "SendEvent" && action.name === event.name;
    case "EntityOperationCalled":
      return (
        action.kind === "CallEntity" &&
        action.operation === event.operation &&
        action.entityId === event.targetInstanceId
      );
    case "EntityOperationSignaled":
      return (
        action.kind === "SignalEntity" &&
        action.operation === event.operation &&
        action.entityId === event.targetInstanceId
      );
    case "EntityLockRequested":
      return action.kind === "LockEntities" && action.lockSet.join("\n") === event.lockSet.join("\n");
    case "EntityUnlockSent":
      return action.kind === "UnlockEntity" && action.entityId === event.targetInstanceId;
    default: {
      const never: never = event;
      return Boolean(never);
    }
  }
}

/** Describes a recorded event for non-determinism messages. */
export function describeRecorded(event: RecordedActionEvent): string {
  switch (event.kind) {
    case "TaskScheduled":
      return `activity '${event.name}' scheduled (TaskScheduled)`;
    case "TimerCreated":
      return `a timer for ${event.fireAt} (TimerCreated)`;
    case "SubOrchestrationInstanceCreated":
      return `sub-orchestration '${event.name}' started as '${event.instanceId}' (SubOrchestrationInstanceCreated)`;
    case "EventSent":
      return `event '${event.name}' sent to '${event.instanceId}' (EventSent)`;
    case "EntityOperationCalled":
      return `operation '${event.operation}' of entity '${event.targetInstanceId}' called (EntityOperationCalled)`;
    case "EntityOperationSignaled":
      return `operation '${event.operation}' signalled to entity '${event.targetInstanceId}' (EntityOperationSignaled)`;
    case "EntityLockRequested":
      return `a lock on ${event.lockSet.map((id) => `'${id}'`).join(", ")} requested (EntityLockRequested)`;
    case "EntityUnlockSent":
      return `the lock on entity '${event.targetInstanceId}' released (EntityUnlockSent)`;
    default: {
      const never: never = event;
      return String(never);
    }
  }
}
