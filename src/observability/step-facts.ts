/**
 * What one committed orchestration step did, read from its checkpoint and the history before it:
 * the instance started or ended, tasks were scheduled or finished, timers fired, events arrived,
 * sub-orchestrations ran, entity calls returned, critical sections were granted. Logs, traces and metrics are all derived from these facts, so none of
 * them runs inside the (pure, replayed) core and none repeats for replayed history.
 */
import type { FailureDetails } from "../core/errors.js";
import type { ExecutionStartedEvent, HistoryEvent, RuntimeStatus } from "../core/events.js";
import type { Checkpoint, InboxMessage, InstanceRecord } from "../core/records.js";

/** A task (activity or sub-orchestration) that finished in this step. */
export interface FinishedTask {
  kind: "activity" | "sub-orchestration";
  taskId: number;
  name: string;
  attempt: number;
  /** When it was scheduled (the TaskScheduled / SubOrchestrationInstanceCreated timestamp). */
  scheduledAt: string;
  /** When its result was recorded. */
  finishedAt: string;
  failure?: FailureDetails;
  /** The child's instance ID (sub-orchestrations). */
  childInstanceId?: string;
}

/** A timer that fired in this step. */
export interface FiredTimer {
  timerId: number;
  createdAt: string;
  fireAt: string;
}

/** An entity call whose result arrived in this step. */
export interface FinishedEntityCall {
  entityId: string;
  operation: string;
  requestId: string;
  calledAt: string;
  finishedAt: string;
  failure?: FailureDetails;
}

/** A critical section granted in this step. */
export interface GrantedLock {
  criticalSectionId: string;
  lockSet: string[];
  requestedAt: string;
  grantedAt: string;
}

/** Everything observable about one committed step. */
export interface StepFacts {
  instanceId: string;
  executionId: string;
  name: string;
  /** The execution's first event (absent for a scheduled instance that has not started). */
  started: ExecutionStartedEvent | undefined;
  /** True when this step recorded the ExecutionStarted event. */
  isFirstStep: boolean;
  scheduled: { kind: "activity" | "sub-orchestration" | "timer"; taskId: number; name: string }[];
  finished: FinishedTask[];
  timersFired: FiredTimer[];
  eventsRaised: { name: string; raisedAt: string }[];
  entityCalls: FinishedEntityCall[];
  locksGranted: GrantedLock[];
  /** Set when this step ended the execution. */
  completion?: { status: RuntimeStatus; failure?: FailureDetails; durationMs?: number };
  /** The step's time. */
  now: Date;
}

/** Kinds of events that point back to the event of the action they complete. */
const COMPLETIONS: ReadonlySet<HistoryEvent["kind"]> = new Set([
  "TaskCompleted",
  "TaskFailed",
  "SubOrchestrationInstanceCompleted",
  "SubOrchestrationInstanceFailed",
  "TimerFired",
]);

/** Completions in one step above which their origins are found through an index, not by scans. */
const INDEX_ABOVE = 8;

/**
 * Finds the event an action's sequence number created. A step that finishes a few tasks scans the
 * most recent events first (their origins are usually recent); one that finishes many (a fan-in)
 * indexes the history once instead of scanning it per task.
 */
class Origins {
  private index: Map<number, HistoryEvent> | undefined;

  constructor(
    private readonly history: readonly HistoryEvent[],
    private readonly newEvents: readonly HistoryEvent[],
    lookups: number,
  ) {
    if (lookups > INDEX_ABOVE) {
      this.index = new Map();
      for (const events of [history, newEvents]) {
        for (const e of events)
          if (e.eventId >= 0 && e.kind !== "ExecutionStarted") this.index.set(e.eventId, e);
      }
    }
  }

  byEventId(eventId: number): HistoryEvent | undefined {
    if (this.index) return this.index.get(eventId);
    for (const events of [this.newEvents, this.history]) {
      for (let i = events.length - 1; i >= 0; i--) {
        const event = events[i];
        if (event && event.eventId === eventId && event.kind !== "ExecutionStarted") return event;
      }
    }
    return undefined;
  }
}

/** Finds the recorded entity call or lock request with this request ID, most recent events first. */
function byRequestId(
  history: readonly HistoryEvent[],
  newEvents: readonly HistoryEvent[],
  id: string,
): HistoryEvent | undefined {
  for (const events of [newEvents, history]) {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e?.kind === "EntityOperationCalled" && e.requestId === id) return e;
      if (e?.kind === "EntityLockRequested" && e.criticalSectionId === id) return e;
    }
  }
  return undefined;
}

/** The execution's ExecutionStarted event: among the first events, so the search stops early. */
function findStarted(events: readonly HistoryEvent[]): ExecutionStartedEvent | undefined {
  return events.find((e): e is ExecutionStartedEvent => e.kind === "ExecutionStarted");
}

/**
 * The events this step recorded. Continue-as-new replaces the history with nothing, so its step's
 * events are the inbox messages it consumed for this execution; a rewind's are not reported.
 */
function stepEvents(
  instance: InstanceRecord,
  messages: readonly InboxMessage[],
  checkpoint: Checkpoint,
): readonly HistoryEvent[] {
  if (checkpoint.history.mode === "append") return checkpoint.history.events;
  if (checkpoint.instance.runtimeStatus !== "ContinuedAsNew") return [];
  const consumed = new Set(checkpoint.consumedMessageIds);
  return messages
    .filter((m) => consumed.has(m.id) && (m.executionId ?? instance.executionId) === instance.executionId)
    .map((m) => m.event);
}

/** Reads the facts of a step from the leased state and the checkpoint that was committed. */
export function stepFacts(
  instance: InstanceRecord,
  history: readonly HistoryEvent[],
  messages: readonly InboxMessage[],
  checkpoint: Checkpoint,
  now: Date,
): StepFacts {
  const newEvents = stepEvents(instance, messages, checkpoint);
  const started = findStarted(history) ?? findStarted(newEvents);
  const facts: StepFacts = {
    instanceId: instance.instanceId,
    executionId: instance.executionId,
    name: instance.name,
    started,
    isFirstStep: newEvents.some((e) => e.kind === "ExecutionStarted"),
    scheduled: [],
    finished: [],
    timersFired: [],
    eventsRaised: [],
    entityCalls: [],
    locksGranted: [],
    now,
  };
  const origins = new Origins(history, newEvents, newEvents.filter((e) => COMPLETIONS.has(e.kind)).length);
  for (const event of newEvents) {
    switch (event.kind) {
      case "TaskScheduled":
        facts.scheduled.push({ kind: "activity", taskId: event.eventId, name: event.name });
        break;
      case "SubOrchestrationInstanceCreated":
        facts.scheduled.push({ kind: "sub-orchestration", taskId: event.eventId, name: event.name });
        break;
      case "TimerCreated":
        facts.scheduled.push({ kind: "timer", taskId: event.eventId, name: event.fireAt });
        break;
      case "TaskCompleted":
      case "TaskFailed":
      case "SubOrchestrationInstanceCompleted":
      case "SubOrchestrationInstanceFailed": {
        const origin = origins.byEventId(event.taskScheduledId);
        if (origin?.kind !== "TaskScheduled" && origin?.kind !== "SubOrchestrationInstanceCreated") break;
        facts.finished.push({
          kind: origin.kind === "TaskScheduled" ? "activity" : "sub-orchestration",
          taskId: event.taskScheduledId,
          name: origin.name,
          attempt: origin.kind === "TaskScheduled" ? (origin.attempt ?? 1) : 1,
          scheduledAt: origin.timestamp,
          finishedAt: event.timestamp,
          ...("failure" in event ? { failure: event.failure } : {}),
          ...(origin.kind === "SubOrchestrationInstanceCreated"
            ? { childInstanceId: origin.instanceId }
            : {}),
        });
        break;
      }
      case "TimerFired": {
        const origin = origins.byEventId(event.timerId);
        if (origin?.kind === "TimerCreated")
          facts.timersFired.push({
            timerId: event.timerId,
            createdAt: origin.timestamp,
            fireAt: event.fireAt,
          });
        break;
      }
      case "EventRaised":
        facts.eventsRaised.push({ name: event.name, raisedAt: event.timestamp });
        break;
      case "EntityOperationCompleted":
      case "EntityOperationFailed": {
        const origin = byRequestId(history, newEvents, event.requestId);
        if (origin?.kind !== "EntityOperationCalled") break;
        facts.entityCalls.push({
          entityId: origin.targetInstanceId ?? "",
          operation: origin.operation,
          requestId: event.requestId,
          calledAt: origin.timestamp,
          finishedAt: event.timestamp,
          ...("failure" in event ? { failure: event.failure } : {}),
        });
        break;
      }
      case "EntityLockGranted": {
        const origin = byRequestId(history, newEvents, event.criticalSectionId);
        if (origin?.kind !== "EntityLockRequested") break;
        facts.locksGranted.push({
          criticalSectionId: event.criticalSectionId,
          lockSet: origin.lockSet,
          requestedAt: origin.timestamp,
          grantedAt: event.timestamp,
        });
        break;
      }
      default:
        break;
    }
  }
  const status = checkpoint.instance.runtimeStatus;
  const continued = checkpoint.history.mode === "replace" && status === "ContinuedAsNew";
  if (continued || newEvents.some((e) => e.kind === "ExecutionCompleted")) {
    facts.completion = {
      status,
      ...(checkpoint.instance.failure ? { failure: checkpoint.instance.failure } : {}),
      ...(started ? { durationMs: now.getTime() - Date.parse(started.timestamp) } : {}),
    };
  }
  return facts;
}
