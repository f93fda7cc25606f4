/**
 * The error family of Refrain. Every error the library throws is a `RefrainError` with a stable
 * `code` and a `retryable` flag; failures crossing a durable boundary travel as `FailureDetails`.
 */

/** Stable error codes. Tools and users may switch on these; they never change meaning. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "PAYLOAD_NOT_SERIALIZABLE"
  | "PAYLOAD_TOO_LARGE"
  | "ORCHESTRATOR_NOT_FOUND"
  | "ACTIVITY_NOT_FOUND"
  | "ENTITY_NOT_FOUND"
  | "LOCKING_RULES_VIOLATION"
  | "INSTANCE_NOT_FOUND"
  | "INSTANCE_ALREADY_EXISTS"
  | "INSTANCE_NOT_RUNNING"
  | "INVALID_STATE"
  | "NON_DETERMINISM"
  | "INVALID_YIELD"
  | "TASK_FAILED"
  | "TERMINATED"
  | "LEASE_LOST"
  | "TIMEOUT"
  | "STORE_UNAVAILABLE"
  | "STORE_CORRUPT"
  | "STORE_CLOSED"
  | "HUB_STOPPED"
  | "INTERNAL";

/** Base class of every error Refrain throws. */
export class RefrainError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** True when repeating the same call later may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** Bad input to a public entry point; nothing was changed. */
export class InvalidArgumentError extends RefrainError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

/** A value that cannot be stored as JSON (function, symbol, BigInt, circular structure). */
export class PayloadNotSerializableError extends RefrainError {
  constructor(message: string) {
    super("PAYLOAD_NOT_SERIALIZABLE", message);
  }
}

/** A serialised payload above the configured size limit. */
export class PayloadTooLargeError extends RefrainError {
  constructor(what: string, bytes: number, limit: number) {
    super("PAYLOAD_TOO_LARGE", `${what} is ${bytes} bytes when serialised; the limit is ${limit} bytes`);
  }
}

/** The name is not registered as an orchestrator on this hub. */
export class OrchestratorNotFoundError extends RefrainError {
  constructor(name: string, known: readonly string[]) {
    super(
      "ORCHESTRATOR_NOT_FOUND",
      `no orchestrator named '${name}' is registered` +
        (known.length ? ` (registered: ${known.join(", ")})` : ""),
    );
  }
}

/** The name is not registered as an activity on this hub. */
export class ActivityNotFoundError extends RefrainError {
  constructor(name: string, known: readonly string[]) {
    super(
      "ACTIVITY_NOT_FOUND",
      `no activity named '${name}' is registered` +
        (known.length ? ` (registered: ${known.join(", ")})` : ""),
    );
  }
}

/** The name is not registered as an entity on this hub. */
export class EntityNotFoundError extends RefrainError {
  constructor(name: string, known: readonly string[]) {
    super(
      "ENTITY_NOT_FOUND",
      `no entity named '${name}' is registered` + (known.length ? ` (registered: ${known.join(", ")})` : ""),
    );
  }
}

/**
 * An orchestration broke a rule of critical sections (nesting, calling an entity it did not lock,
 * two calls to one locked entity at once, signalling a locked entity, a sub-orchestration inside).
 */
export class LockingRulesViolationError extends RefrainError {
  constructor(message: string) {
    super("LOCKING_RULES_VIOLATION", message);
  }
}

/** No instance with this ID exists in the task hub. */
export class InstanceNotFoundError extends RefrainError {
  constructor(instanceId: string) {
    super("INSTANCE_NOT_FOUND", `no instance with ID '${instanceId}' exists`);
  }
}

/** An instance with this ID is Pending, Running or Suspended. */
export class InstanceAlreadyExistsError extends RefrainError {
  constructor(instanceId: string, status: string) {
    super("INSTANCE_ALREADY_EXISTS", `instance '${instanceId}' already exists and is ${status}`);
  }
}

/** The instance has reached a terminal state and cannot take this request. */
export class InstanceNotRunningError extends RefrainError {
  constructor(instanceId: string, status: string) {
    super("INSTANCE_NOT_RUNNING", `instance '${instanceId}' is ${status} and no longer accepts this request`);
  }
}

/** The request does not fit the instance's current state (e.g. rewinding a Completed instance). */
export class InvalidStateError extends RefrainError {
  constructor(message: string) {
    super("INVALID_STATE", message);
  }
}

/** Replay diverged from recorded history: the orchestrator code changed in an incompatible way. */
export class NonDeterminismError extends RefrainError {
  constructor(
    readonly instanceId: string,
    readonly sequenceNumber: number,
    readonly recorded: string,
    readonly attempted: string,
  ) {
    super(
      "NON_DETERMINISM",
      `non-deterministic orchestrator in instance '${instanceId}' at sequence number ${sequenceNumber}: ` +
        `history recorded ${recorded}, but the code now ${attempted}. ` +
        "Orchestrator code must make the same calls in the same order on every replay; " +
        "deploy changed code under a new orchestrator name or version instead.",
    );
  }
}

/** The orchestrator yielded something that is not a Refrain task. */
export class InvalidYieldError extends RefrainError {
  constructor(message: string) {
    super("INVALID_YIELD", message);
  }
}

/** A commit was attempted with a lease that expired and was taken by another worker. */
export class LeaseLostError extends RefrainError {
  constructor(what: string) {
    super("LEASE_LOST", `lease lost: ${what} is now held by another worker or was released`);
  }
}

/** A wait ran out of time. */
export class TimeoutError extends RefrainError {
  constructor(message: string) {
    super("TIMEOUT", message, { retryable: true });
  }
}

/** The store cannot be reached or is busy; the call may succeed later. */
export class StoreUnavailableError extends RefrainError {
  constructor(message: string, cause?: unknown) {
    super("STORE_UNAVAILABLE", message, { cause, retryable: true });
  }
}

/** The database is not a Refrain store (foreign or corrupt file, newer schema). */
export class StoreCorruptError extends RefrainError {
  constructor(message: string, cause?: unknown) {
    super("STORE_CORRUPT", message, { cause });
  }
}

/**
 * A failure that crossed a durable boundary: an activity, sub-orchestration or orchestration
 * error, kept losslessly (name, message, stack, cause chain and own enumerable properties).
 */
export interface FailureDetails {
  name: string;
  message: string;
  stack?: string;
  /** The error's `code`, when it had one. */
  code?: string;
  cause?: FailureDetails;
  /** Own enumerable properties of the original error, JSON-safe. */
  properties?: Record<string, unknown>;
}

/** Raised inside an orchestrator when an awaited activity or sub-orchestration failed. */
export class TaskFailedError extends RefrainError {
  constructor(
    message: string,
    /** The original failure, losslessly. */
    readonly details: FailureDetails,
    /** Sequence number of the failed task. */
    readonly taskId?: number,
  ) {
    super("TASK_FAILED", message);
  }
}

const STANDARD_KEYS = new Set(["name", "message", "stack", "cause", "code"]);

function jsonSafe(value: unknown, seen: WeakSet<object>): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return undefined;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, seen) ?? null);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const safe = jsonSafe(v, seen);
    if (safe !== undefined) out[k] = safe;
  }
  return out;
}

/** Turns anything thrown into `FailureDetails`, keeping the cause chain and extra properties. */
export function toFailureDetails(err: unknown, depth = 0): FailureDetails {
  if (err instanceof TaskFailedError && depth === 0) {
    return { name: err.name, message: err.message, stack: err.stack, code: err.code, cause: err.details };
  }
  if (err instanceof Error) {
    const details: FailureDetails = { name: err.name, message: err.message };
    if (err.stack) details.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") details.code = String(code);
    if (err.cause !== undefined && depth < 16) details.cause = toFailureDetails(err.cause, depth + 1);
    const props: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(err)) {
      if (STANDARD_KEYS.has(key)) continue;
      const safe = jsonSafe(value, new WeakSet());
      if (safe !== undefined) props[key] = safe;
    }
    if (Object.keys(props).length > 0) details.properties = props;
    return details;
  }
  const text = typeof err === "string" ? err : (JSON.stringify(jsonSafe(err, new WeakSet())) ?? String(err));
  return { name: "Error", message: text };
}

/** Builds the message an orchestrator sees for a failed task. */
export function describeTaskFailure(kind: string, name: string, details: FailureDetails): string {
  return `${kind} '${name}' failed: ${details.name}: ${details.message}`;
}
