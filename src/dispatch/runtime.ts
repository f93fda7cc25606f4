/**
 * What the dispatchers share: the hub's identity, its store, its registered functions and its
 * settings. Built once by the TaskHub.
 */
import type { LogSink } from "../core/context.js";
import type { EntityFunction } from "../core/entity-batch.js";
import type { NameRegistry } from "../core/refs.js";
import type { OrchestratorFunction } from "../core/replay.js";
import type { Store } from "../store/store.js";

/** Context handed to every activity invocation. */
export interface ActivityContext {
  /** The orchestration instance that scheduled this activity. */
  instanceId: string;
  /** The activity's registered name. */
  name: string;
  /** Sequence number of the TaskScheduled event. */
  taskId: number;
  /** 1-based attempt number under a retry policy (1 without one). */
  attempt: number;
  /** How many times this exact task was delivered, this time included (> 1 after a crash or lost lease). */
  deliveryCount: number;
  /** `${instanceId}:${executionId}:${taskId}`: the same on every redelivery; use it to make side effects exactly-once. */
  idempotencyKey: string;
  /** Aborted when the worker stops or loses the lease. */
  signal: AbortSignal;
}

/** An activity implementation. */
export type ActivityFunction<I = unknown, O = unknown> = (input: I, ctx: ActivityContext) => O | Promise<O>;

/**
 * Engine log lines (not the orchestrator's replay-safe log): a message plus structured fields
 * (`instanceId`, `name`, `taskId`…). Built by `createLogger`; `fromPino` adapts a pino logger
 * (both in observability/logging.ts).
 */
export interface EngineLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** False when lines of `level` are dropped, so the engine can skip building them (default: true). */
  isLevelEnabled?(level: "debug" | "info" | "warn" | "error"): boolean;
}

/** True unless the logger says lines of `level` are dropped. */
export function logsAt(logger: EngineLogger, level: "debug" | "info" | "warn" | "error"): boolean {
  return logger.isLevelEnabled?.(level) ?? true;
}

/** Settings and registrations shared by a hub's dispatchers. */
export interface HubRuntime {
  hub: string;
  store: Store;
  workerId: string;
  orchestrators: ReadonlyMap<string, OrchestratorFunction>;
  activities: ReadonlyMap<string, ActivityFunction>;
  /** Entity functions by lower-cased entity name. */
  entities: ReadonlyMap<string, EntityFunction>;
  /** Set when the hub rejects unregistered names at the call site. */
  registry: NameRegistry | undefined;
  leaseMs: number;
  maxPayloadBytes: number;
  maxIdleMs: number;
  /** Instances whose replay state this worker keeps warm (0 disables the cache). */
  replayCacheSize: number;
  /** How far ahead an idle worker leases work about to come due (0: never). */
  lookAheadMs: number;
  logger: EngineLogger;
  logSink: LogSink | undefined;
}
