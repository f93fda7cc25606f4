/**
 * OrchestrationContext: the API an orchestrator function programs against (DF's `context.df`).
 * Every method is deterministic: it records an action with the next sequence number, or reads
 * replayed state. No I/O happens here; the replay engine behind `ReplayHost` does the bookkeeping.
 */
import type { OrchestratorAction } from "./actions.js";
import { type Payload, serialize } from "./codec.js";
import { type CriticalSection, EntityLockTask, type LockHandle, type LockState } from "./critical-section.js";
import { type EntityIdLike, toEntityId } from "./entity-id.js";
import {
  ActivityNotFoundError,
  EntityNotFoundError,
  InvalidArgumentError,
  OrchestratorNotFoundError,
} from "./errors.js";
import { GUID_NAMESPACE, uuidV5 } from "./guid.js";
import { DurableHttpTask } from "./http-task.js";
import {
  type DurableHttpRequest,
  type DurableHttpResponse,
  HTTP_ACTIVITY_NAME,
  normaliseHttpRequest,
} from "./http-types.js";
import {
  type ActivityRef,
  type NameRegistry,
  nameProblem,
  type OrchestratorRef,
  orchestrationIdProblem,
  orchestratorNameProblem,
  refName,
} from "./refs.js";
import {
  AtomicTask,
  ExternalEventTask,
  RetryableTask,
  type RetryPolicy,
  Task,
  type TaskResult,
  TimerTask,
} from "./tasks.js";

/** Log levels of the replay-safe logger. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Receives replay-safe log lines (never called while replaying). */
export type LogSink = (level: LogLevel, instanceId: string, args: unknown[]) => void;

/** What the context needs from the replay engine. @internal */
export interface ReplayHost {
  readonly instanceId: string;
  readonly registry: NameRegistry | undefined;
  readonly maxPayloadBytes: number;
  readonly logSink: LogSink;
  currentUtcDateTime: Date;
  isReplaying: boolean;
  nextSequence(): number;
  /** Records a new action and, when given, the task its completion settles. */
  record(action: OrchestratorAction, task?: AtomicTask<unknown>): void;
  /** Registers an external-event wait, satisfying it from buffered events when possible. */
  waitForEvent(task: ExternalEventTask<unknown>): void;
  setCustomStatus(payload: Payload): void;
  requestContinueAsNew(input: Payload, preserveUnprocessedEvents: boolean): void;
  /** The deterministic, execution-unique ID of the entity request or critical section at `sequence`. */
  entityRequestId(sequence: number): string;
  /** The orchestration's critical section bookkeeping. */
  readonly criticalSection: CriticalSection;
}

/** Options of `ctx.signalEntity`. */
export interface SignalEntityOptions {
  /** Deliver the signal at this time instead of now. */
  signalTime?: Date;
}

/** Options of `continueAsNew`. */
export interface ContinueAsNewOptions {
  /** Carry external events that arrived but were not consumed into the next execution. */
  preserveUnprocessedEvents?: boolean;
}

/** Replay-safe logger: silent while the orchestrator re-executes recorded history. */
export interface ReplaySafeLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Composite task helpers, as `ctx.Task`. */
export interface TaskHelpers {
  all<const Ts extends readonly Task<unknown>[]>(
    tasks: Ts,
  ): Task<{ -readonly [K in keyof Ts]: TaskResult<Ts[K]> }>;
  any<T extends Task<unknown>>(tasks: readonly T[]): Task<T>;
}

/** The orchestrator's view of its instance. Deterministic across replays. */
export class OrchestrationContext<TInput = unknown> {
  /** Alias of the context itself, for Durable Functions habits (`ctx.df.callActivity`). */
  readonly df: this = this;
  /** Composite tasks: `ctx.Task.all([...])`, `ctx.Task.any([...])`. */
  readonly Task: TaskHelpers = { all: (tasks) => Task.all(tasks), any: (tasks) => Task.any(tasks) };
  /** Replay-safe logger. */
  readonly log: ReplaySafeLogger;
  private guidCounter = 0;

  constructor(
    private readonly host: ReplayHost,
    /** The orchestrator's registered name. */
    readonly name: string,
    /** The instance input. */
    readonly input: TInput,
    /** The parent's instance ID, for sub-orchestrations. */
    readonly parentInstanceId?: string,
  ) {
    const line =
      (level: LogLevel) =>
      (...args: unknown[]) => {
        if (!host.isReplaying) host.logSink(level, host.instanceId, args);
      };
    this.log = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  }

  /** This instance's ID. */
  get instanceId(): string {
    return this.host.instanceId;
  }

  /** The time of the current checkpoint: deterministic, unlike `Date.now()`. */
  get currentUtcDateTime(): Date {
    return new Date(this.host.currentUtcDateTime.getTime());
  }

  /** True while re-executing recorded history. */
  get isReplaying(): boolean {
    return this.host.isReplaying;
  }

  /** The instance input, typed by the caller. */
  getInput<T = TInput>(): T {
    return this.input as unknown as T;
  }

  /** Schedules an activity. */
  callActivity<I, O>(activity: ActivityRef<I, O>, input: I): Task<O>;
  callActivity<O = unknown>(name: string | ActivityRef<unknown, O>, input?: unknown): Task<O>;
  callActivity<O>(nameOrRef: string | ActivityRef<unknown, O>, input?: unknown): Task<O> {
    return this.scheduleActivity<O>(this.activityName(nameOrRef), this.payload(input, nameOrRef), 1);
  }

  /** Schedules an activity, retrying failed attempts under `retry` with durable timers in between. */
  callActivityWithRetry<I, O>(activity: ActivityRef<I, O>, retry: RetryPolicy, input: I): Task<O>;
  callActivityWithRetry<O = unknown>(
    name: string | ActivityRef<unknown, O>,
    retry: RetryPolicy,
    input?: unknown,
  ): Task<O>;
  callActivityWithRetry<O>(
    nameOrRef: string | ActivityRef<unknown, O>,
    retry: RetryPolicy,
    input?: unknown,
  ): Task<O> {
    const name = this.activityName(nameOrRef);
    const payload = this.payload(input, nameOrRef);
    checkRetry(retry);
    return this.withRetry(retry, (attempt) => this.scheduleActivity<O>(name, payload, attempt));
  }

  /** Starts a sub-orchestration; its default instance ID is `<parent ID>:<sequence number>`. */
  callSubOrchestrator<I, O>(orchestrator: OrchestratorRef<I, O>, input: I, instanceId?: string): Task<O>;
  callSubOrchestrator<O = unknown>(
    name: string | OrchestratorRef<unknown, O>,
    input?: unknown,
    instanceId?: string,
  ): Task<O>;
  callSubOrchestrator<O>(
    nameOrRef: string | OrchestratorRef<unknown, O>,
    input?: unknown,
    instanceId?: string,
  ): Task<O> {
    const name = this.orchestratorName(nameOrRef);
    return this.scheduleChild<O>(name, this.payload(input, nameOrRef), instanceId);
  }

  /**
   * Starts a sub-orchestration with retries. With an explicit `instanceId`, each attempt reuses it
   * (the failed child is replaced); otherwise each attempt gets its own deterministic ID.
   */
  callSubOrchestratorWithRetry<I, O>(
    orchestrator: OrchestratorRef<I, O>,
    retry: RetryPolicy,
    input: I,
    instanceId?: string,
  ): Task<O>;
  callSubOrchestratorWithRetry<O = unknown>(
    name: string | OrchestratorRef<unknown, O>,
    retry: RetryPolicy,
    input?: unknown,
    instanceId?: string,
  ): Task<O>;
  callSubOrchestratorWithRetry<O>(
    nameOrRef: string | OrchestratorRef<unknown, O>,
    retry: RetryPolicy,
    input?: unknown,
    instanceId?: string,
  ): Task<O> {
    const name = this.orchestratorName(nameOrRef);
    const payload = this.payload(input, nameOrRef);
    checkRetry(retry);
    return this.withRetry(retry, () => this.scheduleChild<O>(name, payload, instanceId));
  }

  /** A durable timer that fires at `fireAt`. */
  createTimer(fireAt: Date): TimerTask {
    if (!(fireAt instanceof Date) || Number.isNaN(fireAt.getTime())) {
      throw new InvalidArgumentError("createTimer needs a valid Date");
    }
    const id = this.host.nextSequence();
    const task = new TimerTask(id, new Date(fireAt.getTime()));
    this.host.record({ kind: "CreateTimer", id, fireAt: fireAt.toISOString() }, task);
    return task;
  }

  /**
   * A durable HTTP call through the built-in `refrain.http` activity. A 202 with `Location` is
   * polled on durable timers unless `asynchronousPatternEnabled` is false.
   */
  callHttp(request: DurableHttpRequest): Task<DurableHttpResponse> {
    const normalised = normaliseHttpRequest(request);
    return new DurableHttpTask(normalised, {
      callActivity: (input) =>
        this.scheduleActivity(HTTP_ACTIVITY_NAME, this.payload(input, HTTP_ACTIVITY_NAME), 1),
      createTimer: (fireAt) => this.createTimer(fireAt),
      now: () => this.host.currentUtcDateTime,
    });
  }

  /** Waits for an external event. Events raised earlier are buffered; same-name waits are served in arrival order. */
  waitForExternalEvent<T = unknown>(name: string): Task<T> {
    const problem = nameProblem("event name", name);
    if (problem) throw new InvalidArgumentError(problem);
    const task = new ExternalEventTask<T>(name);
    this.host.waitForEvent(task as ExternalEventTask<unknown>);
    return task;
  }

  /** Raises an event on another instance (one-way). */
  sendEvent(instanceId: string, name: string, data?: unknown): void {
    const problem = orchestrationIdProblem(instanceId) ?? nameProblem("event name", name);
    if (problem) throw new InvalidArgumentError(problem);
    const input = serialize(data, `data of event '${name}'`, this.host.maxPayloadBytes);
    this.host.record({ kind: "SendEvent", id: this.host.nextSequence(), instanceId, name, input });
  }

  /** Ends this execution when the orchestrator returns, and starts a fresh one with `input`. */
  continueAsNew(input: unknown, options: ContinueAsNewOptions = {}): void {
    const payload = serialize(input, "continueAsNew input", this.host.maxPayloadBytes);
    this.host.requestContinueAsNew(payload, options.preserveUnprocessedEvents === true);
  }

  /** Sets a JSON value shown in status queries. */
  setCustomStatus(value: unknown): void {
    this.host.setCustomStatus(serialize(value, "custom status", this.host.maxPayloadBytes));
  }

  /**
   * Calls an entity operation and waits for its result (two-way). The task fails with
   * `TaskFailedError` (the operation's error details intact) when the operation throws.
   */
  callEntity<O = unknown>(entity: EntityIdLike, operation: string, input?: unknown): Task<O> {
    const entityId = this.entityTarget(entity);
    const payload = this.entityPayload(operation, input);
    this.host.criticalSection.checkCall(entityId);
    const id = this.host.nextSequence();
    const task = new AtomicTask<O>(id);
    const requestId = this.host.entityRequestId(id);
    this.host.record({ kind: "CallEntity", id, requestId, entityId, operation, input: payload }, task);
    this.host.criticalSection.trackCall(entityId, task);
    return task;
  }

  /** Sends a one-way entity operation (no result); with `signalTime` it is delivered then. */
  signalEntity(
    entity: EntityIdLike,
    operation: string,
    input?: unknown,
    options: SignalEntityOptions = {},
  ): void {
    const entityId = this.entityTarget(entity);
    const payload = this.entityPayload(operation, input);
    const scheduledTime = checkSignalTime(options);
    this.host.criticalSection.checkSignal(entityId);
    const id = this.host.nextSequence();
    this.host.record({
      kind: "SignalEntity",
      id,
      requestId: this.host.entityRequestId(id),
      entityId,
      operation,
      input: payload,
      ...(scheduledTime ? { scheduledTime } : {}),
    });
  }

  /**
   * Enters a critical section: locks every entity (in one global order, so critical sections never
   * deadlock) and completes with a `LockHandle` once all are locked. While held, only this
   * orchestration operates on them; `release()` ends it, and so does the end of the orchestration.
   */
  lock(entities: readonly EntityIdLike[]): Task<LockHandle> {
    if (!Array.isArray(entities) || entities.length === 0) {
      throw new InvalidArgumentError("lock needs a non-empty array of entity IDs");
    }
    const lockSet = [...new Set(entities.map((e) => this.entityTarget(e)))].sort();
    const section = this.host.criticalSection;
    section.checkCanLock();
    const id = this.host.nextSequence();
    const criticalSectionId = this.host.entityRequestId(id);
    const task = new EntityLockTask(id, criticalSectionId, () => section.grant(criticalSectionId));
    this.host.record({ kind: "LockEntities", id, criticalSectionId, lockSet }, task);
    section.begin(criticalSectionId, lockSet);
    return task;
  }

  /** Whether this orchestration holds a critical section, and on which entities. */
  isLocked(): LockState {
    return this.host.criticalSection.state();
  }

  /** A deterministic UUID, the same on every replay. */
  newGuid(): string {
    const name = `${this.instanceId}_${this.host.currentUtcDateTime.toISOString()}_${this.guidCounter++}`;
    return uuidV5(name, GUID_NAMESPACE);
  }

  private activityName(nameOrRef: string | ActivityRef<unknown, unknown>): string {
    const name = refName(nameOrRef);
    const problem = nameProblem("activity name", name);
    if (problem) throw new InvalidArgumentError(problem);
    const registry = this.host.registry;
    if (registry && !registry.activityNames().includes(name)) {
      throw new ActivityNotFoundError(name, registry.activityNames());
    }
    return name;
  }

  private orchestratorName(nameOrRef: string | OrchestratorRef<unknown, unknown>): string {
    const name = refName(nameOrRef);
    const problem = orchestratorNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem);
    const registry = this.host.registry;
    if (registry && !registry.orchestratorNames().includes(name)) {
      throw new OrchestratorNotFoundError(name, registry.orchestratorNames());
    }
    return name;
  }

  /** The entity's instance ID, after checking the registry knows its name. */
  private entityTarget(entity: EntityIdLike): string {
    const id = toEntityId(entity);
    const registry = this.host.registry;
    if (registry && !registry.entityNames().includes(id.name)) {
      throw new EntityNotFoundError(id.name, registry.entityNames());
    }
    return id.toString();
  }

  private entityPayload(operation: string, input: unknown): Payload {
    const problem = nameProblem("operation name", operation);
    if (problem) throw new InvalidArgumentError(problem);
    return serialize(input, `input of entity operation '${operation}'`, this.host.maxPayloadBytes);
  }

  private payload(input: unknown, nameOrRef: string | { readonly name: string }): Payload {
    return serialize(input, `input of '${refName(nameOrRef)}'`, this.host.maxPayloadBytes);
  }

  private scheduleActivity<O>(name: string, input: Payload, attempt: number): Task<O> {
    const id = this.host.nextSequence();
    const task = new AtomicTask<O>(id);
    this.host.record({ kind: "ScheduleTask", id, name, input, ...(attempt > 1 ? { attempt } : {}) }, task);
    return task;
  }

  private scheduleChild<O>(name: string, input: Payload, instanceId: string | undefined): Task<O> {
    if (instanceId !== undefined) {
      const problem = orchestrationIdProblem(instanceId);
      if (problem) throw new InvalidArgumentError(problem);
    }
    this.host.criticalSection.checkSubOrchestration(name);
    const id = this.host.nextSequence();
    const childId = instanceId ?? `${this.instanceId}:${id}`;
    const task = new AtomicTask<O>(id);
    this.host.record({ kind: "CreateSubOrchestration", id, name, instanceId: childId, input }, task);
    return task;
  }

  private withRetry<O>(retry: RetryPolicy, start: (attempt: number) => Task<O>): Task<O> {
    return new RetryableTask<O>(
      retry,
      start,
      (fireAt) => this.createTimer(fireAt),
      () => this.host.currentUtcDateTime,
    );
  }
}

function checkSignalTime(options: SignalEntityOptions): string | undefined {
  if (options === null || typeof options !== "object")
    throw new InvalidArgumentError("options must be an object");
  const at = options.signalTime;
  if (at === undefined) return undefined;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new InvalidArgumentError("signalTime must be a valid Date");
  }
  return at.toISOString();
}

function checkRetry(retry: RetryPolicy): void {
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  if (!retry || !positive(retry.firstRetryIntervalMs)) {
    throw new InvalidArgumentError("retry.firstRetryIntervalMs must be a positive number of milliseconds");
  }
  if (!Number.isInteger(retry.maxNumberOfAttempts) || retry.maxNumberOfAttempts < 1) {
    throw new InvalidArgumentError("retry.maxNumberOfAttempts must be an integer ≥ 1");
  }
  if (retry.backoffCoefficient !== undefined && !positive(retry.backoffCoefficient)) {
    throw new InvalidArgumentError("retry.backoffCoefficient must be a positive number");
  }
}
