/**
 * The replay engine: re-executes a generator orchestrator over its recorded history plus new
 * events and returns the actions the new events caused. Pure and synchronous: same inputs, same
 * outputs. Recorded actions are matched by sequence number; a mismatch is a NonDeterminismError.
 */
import {
  type CallEntityAction,
  type CompleteOrchestrationAction,
  describeAction,
  type OrchestratorAction,
  type UnlockEntityAction,
} from "./actions.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, deserialize, type Payload, serialize } from "./codec.js";
import { type LogSink, OrchestrationContext, type ReplayHost } from "./context.js";
import { CriticalSection, EntityLockTask } from "./critical-section.js";
import {
  describeTaskFailure,
  InvalidYieldError,
  NonDeterminismError,
  RefrainError,
  TaskFailedError,
  toFailureDetails,
} from "./errors.js";
import type { EventRaisedEvent, HistoryEvent } from "./events.js";
import { entityRequestId } from "./guid.js";
import { describeRecorded, matchesRecorded, type RecordedActionEvent } from "./recorded-actions.js";
import type { NameRegistry } from "./refs.js";
import { type AtomicTask, type ExternalEventTask, isTask, type Task, TimerTask } from "./tasks.js";

/** An orchestrator: a generator function over the context. */
export type OrchestratorFunction<TIn = unknown, TOut = unknown> = (
  ctx: OrchestrationContext<TIn>,
) => Generator<Task<unknown>, TOut, unknown>;

/** Options of one execution. */
export interface ExecutorOptions {
  instanceId: string;
  /** When given, calls to unregistered activity or orchestrator names fail at the call site. */
  registry?: NameRegistry;
  maxPayloadBytes?: number;
  /** Where `ctx.log` writes when not replaying. Default: console. */
  logSink?: LogSink;
}

/** What one execution produced. */
export interface ExecutionResult {
  /** New actions in sequence order; the completion, if any, is last. */
  actions: OrchestratorAction[];
  /** The completion action when this execution ended the orchestration. */
  completion?: CompleteOrchestrationAction;
  /** The custom status after this execution. */
  customStatus: Payload;
  /** True when the instance is suspended after these events. */
  suspended: boolean;
  /** Instance IDs of sub-orchestrations started and not yet finished. */
  openChildren: string[];
  /**
   * Entity locks to release that no recorded action releases: at completion the held critical
   * section (and releases the completion discarded), and at any time grants nobody waits for.
   */
  unlocks: EntityUnlock[];
}

/** One entity lock to release. */
export interface EntityUnlock {
  criticalSectionId: string;
  entityId: string;
}

/** Where `ctx.log` writes when no sink is given: the console, prefixed with the instance ID. */
export const consoleLogSink: LogSink = (level, instanceId, args) => {
  console[level](`[${instanceId}]`, ...args);
};

/** Events that wait while the instance is suspended. */
function isDeferrable(event: HistoryEvent): boolean {
  switch (event.kind) {
    case "ExecutionStarted":
    case "TaskCompleted":
    case "TaskFailed":
    case "TimerFired":
    case "SubOrchestrationInstanceCompleted":
    case "SubOrchestrationInstanceFailed":
    case "EventRaised":
    case "EntityOperationCompleted":
    case "EntityOperationFailed":
    case "EntityLockGranted":
      return true;
    default:
      return false;
  }
}

/** Replays one orchestration execution. Create one per work item (or keep it for incremental steps). */
export class OrchestrationExecutor implements ReplayHost {
  readonly instanceId: string;
  readonly registry: NameRegistry | undefined;
  readonly maxPayloadBytes: number;
  readonly logSink: LogSink;
  currentUtcDateTime = new Date(0);
  isReplaying = true;
  readonly criticalSection = new CriticalSection((criticalSectionId, entityId) =>
    this.record({ kind: "UnlockEntity", id: this.nextSequence(), criticalSectionId, entityId }),
  );

  private sequence = 0;
  private executionId = "";
  private readonly entityCalls = new Map<string, { task: AtomicTask<unknown>; action: CallEntityAction }>();
  private readonly lockTasks = new Map<string, EntityLockTask>();
  /** Unlocks this execution owes outside recorded actions (see `ExecutionResult.unlocks`). */
  private unlocks: EntityUnlock[] = [];
  private readonly pending = new Map<number, OrchestratorAction>();
  private readonly openTasks = new Map<number, { task: AtomicTask<unknown>; action: OrchestratorAction }>();
  /** Sub-orchestrations started and not yet seen completed: their tasks, by child instance ID. */
  private readonly children = new Map<string, AtomicTask<unknown>>();
  private readonly waiters = new Map<string, ExternalEventTask<unknown>[]>();
  private readonly buffered: EventRaisedEvent[] = [];
  private readonly deferred: HistoryEvent[] = [];
  private generator: Generator<Task<unknown>, unknown, unknown> | undefined;
  private awaited: Task<unknown> | undefined;
  private completion: CompleteOrchestrationAction | undefined;
  /** The completion came from history: its releases were sent when it was first made. */
  private completionRecorded = false;
  private continueAsNew: { input: Payload; preserve: boolean } | undefined;
  private customStatus: Payload;
  private suspended = false;

  constructor(
    private readonly fn: OrchestratorFunction,
    options: ExecutorOptions,
  ) {
    this.instanceId = options.instanceId;
    this.registry = options.registry;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.logSink = options.logSink ?? consoleLogSink;
  }

  /** Replays `past` (recorded) events, then applies `fresh` ones, and returns the outcome. */
  execute(past: readonly HistoryEvent[], fresh: readonly HistoryEvent[]): ExecutionResult {
    this.unlocks = [];
    try {
      for (const event of past) this.apply(event, true);
      for (const event of fresh) this.apply(event, false);
    } catch (err) {
      if (!(err instanceof NonDeterminismError)) throw err;
      this.discardPending();
      this.completion = {
        kind: "CompleteOrchestration",
        id: this.sequence,
        status: "Failed",
        failure: toFailureDetails(err),
      };
    }
    const actions = [...this.pending.values()].sort((a, b) => a.id - b.id);
    if (this.completion) actions.push(this.completion);
    if (this.completion && !this.completionRecorded) {
      const held = this.criticalSection.held;
      for (const entityId of held?.lockSet ?? []) {
        this.unlocks.push({ criticalSectionId: held!.criticalSectionId, entityId });
      }
    }
    for (const [instanceId, task] of this.children) if (task.isCompleted) this.children.delete(instanceId);
    return {
      actions,
      completion: this.completion,
      customStatus: this.customStatus,
      suspended: this.suspended,
      openChildren: [...this.children.keys()],
      unlocks: this.unlocks,
    };
  }

  /**
   * Treats the actions returned by the last `execute` as recorded in history (their checkpoint
   * committed), so this executor can take the next step with `execute([], fresh)` instead of a
   * replay from the start. Only valid when nobody else changed the history in between.
   */
  acknowledgeRecorded(): void {
    this.pending.clear();
  }

  // ---- ReplayHost ----

  nextSequence(): number {
    return this.sequence++;
  }

  record(action: OrchestratorAction, task?: AtomicTask<unknown>): void {
    this.pending.set(action.id, action);
    if (!task) return;
    this.openTasks.set(action.id, { task, action });
    if (action.kind === "CreateSubOrchestration") this.children.set(action.instanceId, task);
    if (action.kind === "CallEntity") this.entityCalls.set(action.requestId, { task, action });
    else if (task instanceof EntityLockTask) this.lockTasks.set(task.criticalSectionId, task);
  }

  entityRequestId(sequence: number): string {
    return entityRequestId(this.instanceId, this.executionId, sequence);
  }

  waitForEvent(task: ExternalEventTask<unknown>): void {
    const index = this.buffered.findIndex((e) => e.name === task.eventName);
    if (index >= 0) {
      const [event] = this.buffered.splice(index, 1);
      task.resolve(deserialize(event!.input));
      return;
    }
    const queue = this.waiters.get(task.eventName) ?? [];
    queue.push(task);
    this.waiters.set(task.eventName, queue);
  }

  setCustomStatus(payload: Payload): void {
    this.customStatus = payload;
  }

  requestContinueAsNew(input: Payload, preserveUnprocessedEvents: boolean): void {
    this.continueAsNew = { input, preserve: preserveUnprocessedEvents };
  }

  // ---- event application ----

  private apply(event: HistoryEvent, replaying: boolean): void {
    if (this.completion) {
      this.applyAfterCompletion(event, replaying);
      return;
    }
    this.isReplaying = replaying;
    if (this.suspended && isDeferrable(event)) {
      this.deferred.push(event);
      return;
    }
    switch (event.kind) {
      case "OrchestratorStarted":
        this.currentUtcDateTime = new Date(event.timestamp);
        return;
      case "ExecutionStarted":
        this.executionId = event.executionId;
        this.start(event.name, deserialize(event.input), event.parent?.instanceId);
        break;
      case "TaskScheduled":
      case "TimerCreated":
      case "SubOrchestrationInstanceCreated":
      case "EventSent":
      case "EntityOperationCalled":
      case "EntityOperationSignaled":
      case "EntityLockRequested":
      case "EntityUnlockSent":
        this.matchRecordedAction(event);
        return;
      case "EntityOperationCompleted":
        this.entityCalls.get(event.requestId)?.task.resolve(deserialize(event.result));
        break;
      case "EntityOperationFailed": {
        const call = this.entityCalls.get(event.requestId);
        if (!call) break;
        const { operation, entityId, id } = call.action;
        const failure = event.failure;
        call.task.reject(
          new TaskFailedError(
            `operation '${operation}' of entity '${entityId}' failed: ${failure.name}: ${failure.message}`,
            failure,
            id,
          ),
        );
        break;
      }
      case "EntityLockGranted":
        this.grantLock(event, replaying);
        break;
      case "TaskCompleted":
      case "SubOrchestrationInstanceCompleted":
        this.openTasks.get(event.taskScheduledId)?.task.resolve(deserialize(event.result));
        break;
      case "TaskFailed":
      case "SubOrchestrationInstanceFailed":
        this.failTask(event.taskScheduledId, event);
        break;
      case "TimerFired": {
        const timer = this.openTasks.get(event.timerId)?.task;
        if (timer instanceof TimerTask) timer.fire();
        break;
      }
      case "EventRaised":
        this.deliverEvent(event);
        break;
      case "ExecutionSuspended":
        this.suspended = true;
        return;
      case "ExecutionResumed":
        this.suspended = false;
        for (const deferredEvent of this.deferred.splice(0)) this.apply(deferredEvent, replaying);
        return;
      case "ExecutionTerminated":
        this.discardPending();
        this.completion = {
          kind: "CompleteOrchestration",
          id: this.nextSequence(),
          status: "Terminated",
          result: serialize(event.reason, "termination reason", this.maxPayloadBytes),
        };
        return;
      case "ExecutionRewound":
        return;
      case "ExecutionCompleted":
        this.completion = { kind: "CompleteOrchestration", id: event.eventId, status: event.status };
        this.completionRecorded = true;
        this.pending.clear();
        return;
      default: {
        const never: never = event;
        throw new Error(`unknown history event ${JSON.stringify(never)}`);
      }
    }
    this.resume();
  }

  /**
   * Events after the code finished: recorded actions must still match what the code did (else the
   * code now stops earlier than it used to), and with `preserveUnprocessedEvents` later raised
   * events of the same batch are carried over like the buffered ones. Anything else is moot.
   */
  private applyAfterCompletion(event: HistoryEvent, replaying: boolean): void {
    switch (event.kind) {
      case "TaskScheduled":
      case "TimerCreated":
      case "SubOrchestrationInstanceCreated":
      case "EventSent":
      case "EntityOperationCalled":
      case "EntityOperationSignaled":
      case "EntityLockRequested":
      case "EntityUnlockSent":
        this.matchRecordedAction(event);
        return;
      case "EventRaised":
        this.completion?.carryoverEvents?.push(event);
        return;
      case "EntityLockGranted":
        this.grantLock(event, replaying);
        return;
      default:
        return;
    }
  }

  /** Grants a waiting lock request; a grant nobody waits for is released (when it is new). */
  private grantLock(event: Extract<HistoryEvent, { kind: "EntityLockGranted" }>, replaying: boolean): void {
    const task = this.completion ? undefined : this.lockTasks.get(event.criticalSectionId);
    if (task && !task.isCompleted) {
      task.grant();
      return;
    }
    if (replaying) return; // released when it first arrived
    for (const entityId of event.lockSet) {
      this.unlocks.push({ criticalSectionId: event.criticalSectionId, entityId });
    }
  }

  /** Drops this step's new actions (the execution ends); their entity releases are still owed. */
  private discardPending(): void {
    for (const action of this.pending.values()) {
      if (action.kind === "UnlockEntity") this.unlocks.push(unlockOf(action));
    }
    this.pending.clear();
  }

  private start(name: string, input: unknown, parentInstanceId: string | undefined): void {
    if (this.generator) return;
    const ctx = new OrchestrationContext(this, name, input, parentInstanceId);
    try {
      const generator = this.fn(ctx);
      if (!generator || typeof generator.next !== "function" || typeof generator.throw !== "function") {
        throw new InvalidYieldError(
          `orchestrator '${name}' must be a generator function (function*), but it returned ${typeof generator}`,
        );
      }
      this.generator = generator;
    } catch (err) {
      this.finish(err, true);
    }
  }

  private matchRecordedAction(event: RecordedActionEvent): void {
    const action = this.pending.get(event.eventId);
    if (!action) {
      const attempted = this.openTasks.has(event.eventId)
        ? "recorded it twice"
        : "did not make this call (it waits for something else, or finished)";
      throw new NonDeterminismError(this.instanceId, event.eventId, describeRecorded(event), attempted);
    }
    if (!matchesRecorded(action, event)) {
      throw new NonDeterminismError(
        this.instanceId,
        event.eventId,
        describeRecorded(event),
        describeAction(action),
      );
    }
    this.pending.delete(event.eventId);
  }

  private failTask(
    taskId: number,
    event: Extract<HistoryEvent, { kind: "TaskFailed" | "SubOrchestrationInstanceFailed" }>,
  ): void {
    const open = this.openTasks.get(taskId);
    if (!open) return;
    const kind = event.kind === "TaskFailed" ? "activity" : "sub-orchestration";
    const name = "name" in open.action ? open.action.name : "?";
    open.task.reject(
      new TaskFailedError(describeTaskFailure(kind, name, event.failure), event.failure, taskId),
    );
  }

  private deliverEvent(event: EventRaisedEvent): void {
    const queue = this.waiters.get(event.name);
    const waiter = queue?.shift();
    if (waiter) waiter.resolve(deserialize(event.input));
    else this.buffered.push(event);
  }

  /** Runs the generator as far as completed tasks allow. */
  private resume(): void {
    const generator = this.generator;
    if (!generator) return;
    while (!this.completion) {
      const awaited = this.awaited;
      if (awaited && !awaited.isCompleted) return;
      let step: IteratorResult<Task<unknown>, unknown>;
      try {
        if (!awaited) step = generator.next();
        else if (awaited.isFaulted) step = generator.throw(awaited.exception);
        else step = generator.next(awaited.result);
      } catch (err) {
        this.finish(err, true);
        return;
      }
      if (step.done) {
        this.finish(step.value, false);
        return;
      }
      const yielded: unknown = step.value;
      if (!isTask(yielded)) {
        const what =
          typeof (yielded as { then?: unknown } | null)?.then === "function"
            ? "a Promise: orchestrators must not await or yield promises; call an activity for I/O"
            : `${typeof yielded} (${String(yielded)})`;
        this.awaited = undefined;
        this.finish(
          new InvalidYieldError(`orchestrator yielded ${what}; yield a task from the context instead`),
          true,
        );
        return;
      }
      this.awaited = yielded;
    }
  }

  private finish(valueOrError: unknown, failed: boolean): void {
    const id = this.nextSequence();
    if (failed) {
      this.completion = {
        kind: "CompleteOrchestration",
        id,
        status: "Failed",
        failure: toFailureDetails(valueOrError),
      };
      return;
    }
    try {
      if (this.continueAsNew) {
        const carry = this.continueAsNew.preserve
          ? [
              ...this.buffered,
              ...this.deferred.filter((e): e is EventRaisedEvent => e.kind === "EventRaised"),
            ]
          : undefined;
        this.completion = {
          kind: "CompleteOrchestration",
          id,
          status: "ContinuedAsNew",
          newInput: this.continueAsNew.input,
          ...(carry ? { carryoverEvents: carry } : {}),
        };
        return;
      }
      const result = serialize(valueOrError, "orchestration output", this.maxPayloadBytes);
      this.completion = { kind: "CompleteOrchestration", id, status: "Completed", result };
    } catch (err) {
      const failure = toFailureDetails(err instanceof RefrainError ? err : new Error(String(err)));
      this.completion = { kind: "CompleteOrchestration", id, status: "Failed", failure };
    }
  }
}

function unlockOf(action: UnlockEntityAction): EntityUnlock {
  return { criticalSectionId: action.criticalSectionId, entityId: action.entityId };
}
