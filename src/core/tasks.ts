/**
 * Tasks: what an orchestrator yields. Every `Task<T>` is iterable (yielding itself once and
 * returning `T`), so `yield* task` is typed while `yield task` works as in durable-functions.
 * Completion is synchronous and driven by replay; composite tasks listen to their children.
 */
import { InvalidStateError } from "./errors.js";

/** Something notified when a task finishes. */
interface TaskListener {
  onChildDone(child: Task<unknown>): void;
}

/** A unit of durable work the orchestrator can wait for. */
export abstract class Task<T = unknown> {
  private state: "pending" | "completed" | "failed" = "pending";
  private value: T | undefined;
  private error: unknown;
  private listeners: TaskListener[] = [];

  /** True once the task completed or failed. */
  get isCompleted(): boolean {
    return this.state !== "pending";
  }

  /** True when the task failed. */
  get isFaulted(): boolean {
    return this.state === "failed";
  }

  /** The result, once completed successfully. */
  get result(): T | undefined {
    return this.value;
  }

  /** The error, once failed. */
  get exception(): unknown {
    return this.error;
  }

  /** Typed waiting: `const x = yield* task`. */
  *[Symbol.iterator](): Generator<Task<T>, T, unknown> {
    const value = yield this;
    return value as T;
  }

  /** Settles the task successfully. Later settlements are ignored. @internal */
  resolve(value: T): void {
    if (this.state !== "pending") return;
    this.state = "completed";
    this.value = value;
    this.notify();
  }

  /** Settles the task with an error. Later settlements are ignored. @internal */
  reject(error: unknown): void {
    if (this.state !== "pending") return;
    this.state = "failed";
    this.error = error;
    this.notify();
  }

  /** @internal */
  addListener(listener: TaskListener): void {
    this.listeners.push(listener);
  }

  private notify(): void {
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener.onChildDone(this);
  }

  /** Waits for all tasks; fails fast with the first failure. Result order follows input order. */
  static all<const Ts extends readonly Task<unknown>[]>(
    tasks: Ts,
  ): Task<{ -readonly [K in keyof Ts]: TaskResult<Ts[K]> }> {
    return new WhenAllTask(tasks) as Task<{ -readonly [K in keyof Ts]: TaskResult<Ts[K]> }>;
  }

  /** Completes with the first task that completes (successfully or not). */
  static any<T extends Task<unknown>>(tasks: readonly T[]): Task<T> {
    return new WhenAnyTask(tasks);
  }
}

/** The result type of a task. */
export type TaskResult<X> = X extends Task<infer R> ? R : never;

/** A task backed by one scheduled action (activity, timer, sub-orchestration) or one event wait. */
export class AtomicTask<T = unknown> extends Task<T> {
  constructor(
    /** Sequence number of the scheduling action; -1 for external-event waits. */
    readonly id: number,
  ) {
    super();
  }
}

/** A durable timer. */
export class TimerTask extends AtomicTask<void> {
  private canceled = false;

  constructor(
    id: number,
    /** When the timer fires. */
    readonly fireAt: Date,
  ) {
    super(id);
  }

  /** True after `cancel()`. */
  get isCanceled(): boolean {
    return this.canceled;
  }

  /** Cancels the timer: it will never complete, and the orchestration need not wait for it. */
  cancel(): void {
    if (this.isCompleted) throw new InvalidStateError("cannot cancel a timer that has already fired");
    this.canceled = true;
  }

  /** Fires the timer unless canceled. @internal */
  fire(): void {
    if (!this.canceled) this.resolve(undefined);
  }
}

/** Waits for an external event by name. */
export class ExternalEventTask<T = unknown> extends AtomicTask<T> {
  constructor(readonly eventName: string) {
    super(-1);
  }
}

class WhenAllTask extends Task<unknown[]> implements TaskListener {
  private remaining: number;

  constructor(private readonly children: readonly Task<unknown>[]) {
    super();
    this.remaining = children.length;
    if (children.length === 0) this.resolve([]);
    for (const child of children) {
      if (child.isCompleted) this.onChildDone(child);
      else child.addListener(this);
    }
  }

  onChildDone(child: Task<unknown>): void {
    if (this.isCompleted) return;
    if (child.isFaulted) {
      this.reject(child.exception);
      return;
    }
    this.remaining -= 1;
    if (this.remaining === 0) this.resolve(this.children.map((c) => c.result));
  }
}

class WhenAnyTask<T extends Task<unknown>> extends Task<T> implements TaskListener {
  constructor(children: readonly T[]) {
    super();
    if (children.length === 0) throw new InvalidStateError("Task.any needs at least one task");
    for (const child of children) {
      if (child.isCompleted) this.onChildDone(child);
      else child.addListener(this);
    }
  }

  onChildDone(child: Task<unknown>): void {
    this.resolve(child as T);
  }
}

/** Retry policy for activities and sub-orchestrations; retries wait on durable timers. */
export class RetryOptions {
  /** Delay before the second attempt. */
  firstRetryIntervalMs: number;
  /** Attempts in total, the first included. */
  maxNumberOfAttempts: number;
  /** Multiplier applied to the delay after each retry. */
  backoffCoefficient = 1;
  /** Upper bound of one delay. */
  maxRetryIntervalMs?: number;
  /** No retry starts later than this after the first attempt was scheduled. */
  retryTimeoutMs?: number;
  /** Return false to stop retrying for this error. Must be deterministic. */
  handle?: (error: unknown) => boolean;

  constructor(firstRetryIntervalMs: number, maxNumberOfAttempts: number) {
    this.firstRetryIntervalMs = firstRetryIntervalMs;
    this.maxNumberOfAttempts = maxNumberOfAttempts;
  }
}

/** Plain-object form of `RetryOptions`. */
export interface RetryPolicy {
  firstRetryIntervalMs: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalMs?: number;
  retryTimeoutMs?: number;
  handle?: (error: unknown) => boolean;
}

/** The delay before attempt `nextAttempt` (2-based: the first retry is attempt 2). */
export function retryDelayMs(policy: RetryPolicy, nextAttempt: number): number {
  const coefficient = policy.backoffCoefficient ?? 1;
  const delay = policy.firstRetryIntervalMs * coefficient ** (nextAttempt - 2);
  return Math.min(delay, policy.maxRetryIntervalMs ?? Number.POSITIVE_INFINITY);
}

/**
 * A task retried under a policy. Each attempt is a fresh scheduled task; between attempts the
 * orchestration waits on a durable timer, so retries are visible in history and survive restarts.
 */
export class RetryableTask<T> extends Task<T> implements TaskListener {
  private attempt = 1;
  private current: Task<unknown>;
  private readonly firstScheduledAt: number;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly startAttempt: (attempt: number) => Task<T>,
    private readonly startTimer: (fireAt: Date) => TimerTask,
    private readonly now: () => Date,
  ) {
    super();
    this.firstScheduledAt = now().getTime();
    this.current = startAttempt(1);
    this.current.addListener(this);
  }

  onChildDone(child: Task<unknown>): void {
    if (child !== this.current || this.isCompleted) return;
    if (child instanceof TimerTask) {
      this.attempt += 1;
      this.current = this.startAttempt(this.attempt);
      this.current.addListener(this);
      return;
    }
    if (!child.isFaulted) {
      this.resolve(child.result as T);
      return;
    }
    const error = child.exception;
    const now = this.now().getTime();
    const timedOut =
      this.policy.retryTimeoutMs !== undefined && now - this.firstScheduledAt >= this.policy.retryTimeoutMs;
    let handled = true;
    try {
      if (this.policy.handle) handled = this.policy.handle(error);
    } catch (handleError) {
      // User code runs here outside the generator: its error fails this task, not the whole step.
      this.reject(handleError);
      return;
    }
    if (this.attempt >= this.policy.maxNumberOfAttempts || timedOut || !handled) {
      this.reject(error);
      return;
    }
    const delay = retryDelayMs(this.policy, this.attempt + 1);
    this.current = this.startTimer(new Date(now + delay));
    this.current.addListener(this);
  }
}

/** True if `value` is a Refrain task. */
export function isTask(value: unknown): value is Task<unknown> {
  return value instanceof Task;
}
