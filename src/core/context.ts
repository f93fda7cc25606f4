/**
 * OrchestrationContext: the API an orchestrator function programs against (DF's `context.df`).
 * Every method is deterministic: it records an action with the next sequence number, or reads
 * replayed state. No I/O happens here; the replay engine behind `ReplayHost` does the bookkeeping.
 */
import { createHash } from "node:crypto";
import type { OrchestratorAction } from "./actions.js";
import { type Payload, serialize } from "./codec.js";
import { ActivityNotFoundError, InvalidArgumentError, OrchestratorNotFoundError } from "./errors.js";
import { DurableHttpTask } from "./http-task.js";
import {
  type DurableHttpRequest,
  type DurableHttpResponse,
  HTTP_ACTIVITY_NAME,
  normaliseHttpRequest,
} from "./http-types.js";
import {
  type ActivityRef,
  instanceIdProblem,
  type NameRegistry,
  nameProblem,
  type OrchestratorRef,
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

const GUID_NAMESPACE = "9e952958-5e33-4daf-827f-2fa12937b875";

function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
    const problem = instanceIdProblem(instanceId) ?? nameProblem("event name", name);
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
    const problem = nameProblem("orchestrator name", name);
    if (problem) throw new InvalidArgumentError(problem);
    const registry = this.host.registry;
    if (registry && !registry.orchestratorNames().includes(name)) {
      throw new OrchestratorNotFoundError(name, registry.orchestratorNames());
    }
    return name;
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
      const problem = instanceIdProblem(instanceId);
      if (problem) throw new InvalidArgumentError(problem);
    }
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
