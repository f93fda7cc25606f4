/**
 * Maps node-postgres errors onto the Refrain error family and retries the transient ones.
 * Transient: a lost or refused connection, the server shutting down or not yet accepting
 * connections (class 08, 57P01–57P03), serialization failures (40001), deadlocks (40P01), lock
 * timeouts (55P03), exhausted resources (class 53) and a concurrent insert of the same instance ID. Those are
 * retried with exponential backoff; when every attempt fails the caller gets
 * `StoreUnavailableError` (retryable). The store's own PL/pgSQL functions raise SQLSTATEs of the
 * private class "RF", translated here into `LeaseLostError` and friends.
 */
import {
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InstanceNotRunningError,
  InvalidStateError,
  LeaseLostError,
  RefrainError,
  StoreCorruptError,
  StoreUnavailableError,
} from "../../core/errors.js";

/** The fields of a node-postgres `DatabaseError` (or a Node.js socket error) we look at. */
interface PgErrorFields {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

const fields = (err: unknown): PgErrorFields =>
  typeof err === "object" && err !== null ? (err as PgErrorFields) : {};

/** The SQLSTATE (or Node.js error code) of an error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = fields(err).code;
  return typeof code === "string" ? code : undefined;
}

const RETRYABLE_SQLSTATES = new Set(["40001", "40P01", "57P01", "57P02", "57P03", "55P03"]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Client was closed|server closed the connection/i;

/** True when repeating the call may succeed: connection trouble, contention or shutdown. */
export function isTransient(err: unknown): boolean {
  if (err instanceof RefrainError) return false;
  const code = errorCode(err);
  if (code !== undefined) {
    if (RETRYABLE_SQLSTATES.has(code) || NETWORK_CODES.has(code)) return true;
    if (code.startsWith("08") || code.startsWith("53")) return true;
    // Two transactions created the same instance ID at once: the retry sees the winner's row.
    if (code === "23505" && fields(err).constraint === "instances_pkey") return true;
  }
  const message = fields(err).message;
  return typeof message === "string" && CONNECTION_MESSAGES.test(message);
}

/** What a failed call was doing, for error messages and for the store's own SQLSTATEs. */
export interface ErrorContext {
  /** e.g. "createInstance". */
  operation: string;
  /** The schema, for messages. */
  schema: string;
  /** The instance or task the call was about, for the "RF" SQLSTATEs. */
  subject?: string;
}

/** Translates a non-transient error into the Refrain error family. */
export function translatePgError(err: unknown, ctx: ErrorContext): unknown {
  if (err instanceof RefrainError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const subject = ctx.subject ?? "?";
  switch (code) {
    case "RF001":
      return new LeaseLostError(subject);
    case "RF002":
      return new InstanceAlreadyExistsError(subject, message);
    case "RF003":
      return new InstanceNotFoundError(subject);
    case "RF004":
      return new InstanceNotRunningError(subject, message);
    case "RF005":
      return new InvalidStateError(`instance '${subject}' is ${message}; this request needs another status`);
  }
  const where = `PostgreSQL ${ctx.operation} failed (schema '${ctx.schema}')`;
  if (code === "3F000" || code === "42P01" || code === "42883") {
    return new StoreCorruptError(
      `${where}: the store's tables or functions are missing (${code}: ${message}); ` +
        "was the schema dropped after open()?",
      err,
    );
  }
  if (code !== undefined && (code.startsWith("28") || code === "3D000")) {
    return new StoreUnavailableError(`${where}: cannot connect (${code}: ${message})`, err);
  }
  return new RefrainError("INTERNAL", `${where}: ${code ? `${code}: ` : ""}${message}`, { cause: err });
}

/** Retry settings of one store. */
export interface RetryOptions {
  /** Retries after the first attempt (so `maxRetries + 1` attempts in all). */
  maxRetries: number;
}

/** Delay before the first retry; it doubles for each further retry (with jitter), up to `MAX_DELAY_MS`. */
const BASE_DELAY_MS = 25;
const MAX_DELAY_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt(n)` (n = 1, 2, …), retrying transient failures with exponential backoff. Other
 * failures are translated and thrown at once. After the last failed attempt, throws
 * `StoreUnavailableError` carrying the last error. `attempt` receives the attempt number so a
 * retry can recognise the effect of an earlier attempt whose commit outcome is unknown.
 */
export async function withRetry<T>(
  ctx: ErrorContext,
  options: RetryOptions,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (!isTransient(err)) throw translatePgError(err, ctx);
      if (n > options.maxRetries) {
        const message = err instanceof Error ? err.message : String(err);
        throw new StoreUnavailableError(
          `PostgreSQL ${ctx.operation} failed after ${n} attempts (schema '${ctx.schema}'): ${message}`,
          err,
        );
      }
      const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (n - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }
}
