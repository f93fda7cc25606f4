/**
 * History builders: write orchestration histories concisely, for unit tests of orchestrators and
 * for the engine's own tests. Payloads are given as JS values and serialised with the codec, so a
 * built history is exactly what the runtime would have recorded.
 *
 * ```ts
 * const h = new HistoryBuilder({ instanceId: "order-1", name: "Order", input: { id: 1 } });
 * const past = h.step().started().taskScheduled(0, "Charge", 1).events();
 * const fresh = h.mark().step().taskCompleted(0, "ok").sinceMark();
 * ```
 */
import { type Payload, serialize } from "../core/codec.js";
import { type FailureDetails, InvalidArgumentError, toFailureDetails } from "../core/errors.js";
import {
  type DistributiveOmit,
  type HistoryEvent,
  type InboxEvent,
  makeEvent,
  type ParentInfo,
} from "../core/events.js";
import { entityRequestId } from "../core/guid.js";
import type { InboxMessage, InstanceRecord } from "../core/records.js";

/** Options of a `HistoryBuilder`. */
export interface HistoryBuilderOptions {
  /** The instance the history belongs to. */
  instanceId: string;
  /** The orchestrator name recorded in ExecutionStarted. */
  name: string;
  /** The instance input, as a JS value. */
  input?: unknown;
  /** Execution ID recorded in ExecutionStarted. Default `"exec-1"`. */
  executionId?: string;
  /** Parent of a sub-orchestration. */
  parent?: ParentInfo;
  /** Time of the first event. Default 2024-01-01T00:00:00Z. */
  start?: Date;
  /** How far `step()` without a time moves the clock. Default 1000 ms. */
  stepMs?: number;
}

/** Default start time of built histories. */
export const DEFAULT_HISTORY_START = new Date("2024-01-01T00:00:00.000Z");

/** Something a failure can be built from: an error (kept losslessly) or ready-made details. */
export type FailureLike = Error | FailureDetails | string;

/** Turns an error, a message or ready-made details into `FailureDetails`. */
export function failureOf(error: FailureLike): FailureDetails {
  if (typeof error === "string") return { name: "Error", message: error };
  if (error instanceof Error) return toFailureDetails(error);
  return error;
}

function payload(value: unknown): Payload {
  return serialize(value, "history builder payload");
}

/**
 * Builds a history event by event. Each event is stamped with the builder's clock, which only
 * moves on `step()`, so every event of one step shares the step's `OrchestratorStarted` time.
 * Sequence numbers are explicit: an action's `id` is the `eventId` of the event recording it.
 */
export class HistoryBuilder {
  /** The instance ID the history belongs to. */
  readonly instanceId: string;
  /** The orchestrator name. */
  readonly name: string;
  /** The execution ID recorded in ExecutionStarted. */
  readonly executionId: string;
  private readonly options: HistoryBuilderOptions;
  private readonly list: HistoryEvent[] = [];
  private clock: Date;
  private marked = 0;
  private steps = 0;

  constructor(options: HistoryBuilderOptions) {
    this.options = options;
    this.instanceId = options.instanceId;
    this.name = options.name;
    this.executionId = options.executionId ?? "exec-1";
    this.clock = new Date((options.start ?? DEFAULT_HISTORY_START).getTime());
  }

  /** The builder's current time (the timestamp of the last `step()`). */
  get now(): Date {
    return new Date(this.clock.getTime());
  }

  /**
   * Begins an orchestrator step: appends OrchestratorStarted at `at`, or, without `at`, `stepMs`
   * after the previous step (the first step without `at` happens at the start time).
   */
  step(at?: Date): this {
    if (at) this.clock = new Date(at.getTime());
    else if (this.steps > 0) this.clock = new Date(this.clock.getTime() + (this.options.stepMs ?? 1000));
    this.steps += 1;
    return this.add({ kind: "OrchestratorStarted" });
  }

  /** ExecutionStarted with the builder's name, instance, execution, input and parent. */
  started(): this {
    const { parent } = this.options;
    return this.add({
      kind: "ExecutionStarted",
      name: this.name,
      instanceId: this.instanceId,
      executionId: this.executionId,
      input: payload(this.options.input),
      ...(parent ? { parent } : {}),
    });
  }

  /** TaskScheduled: activity `name` scheduled with sequence number `id`. */
  taskScheduled(id: number, name: string, input?: unknown, attempt?: number): this {
    const extra = attempt !== undefined && attempt > 1 ? { attempt } : {};
    return this.add({ kind: "TaskScheduled", eventId: id, name, input: payload(input), ...extra });
  }

  /** TaskCompleted for the activity scheduled as `id`. */
  taskCompleted(id: number, result?: unknown): this {
    return this.add({ kind: "TaskCompleted", taskScheduledId: id, result: payload(result) });
  }

  /** TaskFailed for the activity scheduled as `id`. */
  taskFailed(id: number, error: FailureLike): this {
    return this.add({ kind: "TaskFailed", taskScheduledId: id, failure: failureOf(error) });
  }

  /** TimerCreated: timer `id` set for `fireAt`. */
  timerCreated(id: number, fireAt: Date): this {
    return this.add({ kind: "TimerCreated", eventId: id, fireAt: fireAt.toISOString() });
  }

  /** TimerFired for timer `id`. */
  timerFired(id: number, fireAt: Date): this {
    return this.add({ kind: "TimerFired", timerId: id, fireAt: fireAt.toISOString() });
  }

  /** SubOrchestrationInstanceCreated: child `childId` of orchestrator `name` started as `id`. */
  subStarted(id: number, name: string, childId: string, input?: unknown): this {
    return this.add({
      kind: "SubOrchestrationInstanceCreated",
      eventId: id,
      name,
      instanceId: childId,
      input: payload(input),
    });
  }

  /** SubOrchestrationInstanceCompleted for the child started as `id`. */
  subCompleted(id: number, result?: unknown): this {
    return this.add({
      kind: "SubOrchestrationInstanceCompleted",
      taskScheduledId: id,
      result: payload(result),
    });
  }

  /** SubOrchestrationInstanceFailed for the child started as `id`. */
  subFailed(id: number, error: FailureLike): this {
    return this.add({
      kind: "SubOrchestrationInstanceFailed",
      taskScheduledId: id,
      failure: failureOf(error),
    });
  }

  /** EventSent: this orchestration raised `name` on `instanceId` as action `id`. */
  eventSent(id: number, instanceId: string, name: string, data?: unknown): this {
    return this.add({ kind: "EventSent", eventId: id, instanceId, name, input: payload(data) });
  }

  /** EventRaised: external event `name` arrived with `data`. */
  eventRaised(name: string, data?: unknown): this {
    return this.add({ kind: "EventRaised", name, input: payload(data) });
  }

  /** ExecutionSuspended. */
  suspended(reason?: string): this {
    return this.add({ kind: "ExecutionSuspended", ...(reason !== undefined ? { reason } : {}) });
  }

  /** ExecutionResumed. */
  resumed(reason?: string): this {
    return this.add({ kind: "ExecutionResumed", ...(reason !== undefined ? { reason } : {}) });
  }

  /** ExecutionTerminated, optionally recursive (open sub-orchestrations are terminated too). */
  terminated(reason?: string, recursive?: boolean): this {
    return this.add({
      kind: "ExecutionTerminated",
      ...(reason !== undefined ? { reason } : {}),
      ...(recursive ? { recursive } : {}),
    });
  }

  /** ExecutionRewound. */
  rewound(reason?: string): this {
    return this.add({ kind: "ExecutionRewound", ...(reason !== undefined ? { reason } : {}) });
  }

  /** The request ID of the entity call, signal or lock recorded at sequence number `id`. */
  requestId(id: number): string {
    return entityRequestId(this.instanceId, this.executionId, id);
  }

  /** EntityOperationCalled: `operation` of `entity` (an `@name@key` ID) called as action `id`. */
  entityCalled(id: number, entity: string, operation: string, input?: unknown): this {
    const requestId = this.requestId(id);
    const fields = { requestId, operation, input: payload(input), targetInstanceId: entity };
    return this.add({ kind: "EntityOperationCalled", eventId: id, ...fields });
  }

  /** EntityOperationSignaled: `operation` signalled to `entity` as action `id`. */
  entitySignaled(id: number, entity: string, operation: string, input?: unknown): this {
    const requestId = this.requestId(id);
    const fields = { requestId, operation, input: payload(input), targetInstanceId: entity };
    return this.add({ kind: "EntityOperationSignaled", eventId: id, ...fields });
  }

  /** EntityOperationCompleted for the entity call recorded as `id`. */
  entityCompleted(id: number, result?: unknown): this {
    return this.add({
      kind: "EntityOperationCompleted",
      requestId: this.requestId(id),
      result: payload(result),
    });
  }

  /** EntityOperationFailed for the entity call recorded as `id`. */
  entityFailed(id: number, error: FailureLike): this {
    return this.add({
      kind: "EntityOperationFailed",
      requestId: this.requestId(id),
      failure: failureOf(error),
    });
  }

  /** EntityLockRequested: a critical section over `lockSet` (sorted IDs) requested as action `id`. */
  lockRequested(id: number, lockSet: string[]): this {
    const criticalSectionId = this.requestId(id);
    return this.add({ kind: "EntityLockRequested", eventId: id, criticalSectionId, lockSet, position: 0 });
  }

  /** EntityLockGranted for the critical section requested as `lockId`. */
  lockGranted(lockId: number, lockSet: string[]): this {
    return this.add({ kind: "EntityLockGranted", criticalSectionId: this.requestId(lockId), lockSet });
  }

  /** EntityUnlockSent: the lock of section `lockId` on `entity` released as action `id`. */
  unlockSent(id: number, lockId: number, entity: string): this {
    const criticalSectionId = this.requestId(lockId);
    return this.add({ kind: "EntityUnlockSent", eventId: id, criticalSectionId, targetInstanceId: entity });
  }

  /** ExecutionCompleted with status Completed and `result` (sequence number `id`). */
  completed(id: number, result?: unknown): this {
    return this.add({
      kind: "ExecutionCompleted",
      eventId: id,
      status: "Completed",
      result: payload(result),
    });
  }

  /** ExecutionCompleted with status Failed (sequence number `id`). */
  failed(id: number, error: FailureLike): this {
    return this.add({ kind: "ExecutionCompleted", eventId: id, status: "Failed", failure: failureOf(error) });
  }

  /** Appends any event, stamped with the builder's clock. */
  add(fields: DistributiveOmit<HistoryEvent, "eventId" | "timestamp"> & { eventId?: number }): this {
    this.list.push(makeEvent(this.clock, fields));
    return this;
  }

  /** Remembers the current end of the history, for `sinceMark()`. */
  mark(): this {
    this.marked = this.list.length;
    return this;
  }

  /** Every event so far (a copy). */
  events(): HistoryEvent[] {
    return [...this.list];
  }

  /** The events before the last `mark()`: a step's recorded history. */
  beforeMark(): HistoryEvent[] {
    return this.list.slice(0, this.marked);
  }

  /** The events added since the last `mark()`: a step's new events. */
  sinceMark(): HistoryEvent[] {
    return this.list.slice(this.marked);
  }

  /** An instance row matching this history (status Running unless overridden). */
  instance(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
    const at = (this.options.start ?? DEFAULT_HISTORY_START).getTime();
    return {
      instanceId: this.instanceId,
      name: this.name,
      executionId: this.executionId,
      runtimeStatus: "Running",
      input: payload(this.options.input),
      ...(this.options.parent ? { parent: this.options.parent } : {}),
      createdAt: at,
      lastUpdatedAt: at,
      ...overrides,
    };
  }
}

/**
 * Wraps events as inbox messages for `runOrchestrationStep`, with IDs `m1`, `m2`, … (or
 * `${prefix}1`, …), visible at each event's timestamp, optionally targeted at one execution.
 */
export function inboxMessages(
  instanceId: string,
  events: readonly HistoryEvent[],
  options: { executionId?: string; prefix?: string } = {},
): InboxMessage[] {
  return events.map((event, i) => {
    if (!isInboxEvent(event)) {
      throw new InvalidArgumentError(`${event.kind} is recorded by the orchestrator, not an inbox message`);
    }
    return {
      id: `${options.prefix ?? "m"}${i + 1}`,
      instanceId,
      ...(options.executionId !== undefined ? { executionId: options.executionId } : {}),
      event,
      visibleAt: Date.parse(event.timestamp),
    };
  });
}

const INBOX_KINDS: ReadonlySet<string> = new Set<InboxEvent["kind"]>([
  "ExecutionStarted",
  "TaskCompleted",
  "TaskFailed",
  "TimerFired",
  "SubOrchestrationInstanceCompleted",
  "SubOrchestrationInstanceFailed",
  "EventRaised",
  "ExecutionSuspended",
  "ExecutionResumed",
  "ExecutionTerminated",
  "ExecutionRewound",
  "EntityOperationCompleted",
  "EntityOperationFailed",
  "EntityLockGranted",
  "EntityOperationCalled",
  "EntityOperationSignaled",
  "EntityLockRequested",
  "EntityUnlockSent",
]);

/**
 * True for events that arrive as inbox messages (rather than being recorded by the orchestrator);
 * entity requests are both: recorded by their sender, received by the entity.
 */
export function isInboxEvent(event: HistoryEvent): event is InboxEvent {
  return INBOX_KINDS.has(event.kind);
}
