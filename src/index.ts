/**
 * Refrain: durable orchestrations for TypeScript and Node.js.
 * Everything public is exported from here.
 */

export type { ListInstancesQuery, PurgeFilter, StartNewOptions } from "./client.js";
export { DurableClient } from "./client.js";
export { DEFAULT_MAX_PAYLOAD_BYTES } from "./core/codec.js";
export type {
  ContinueAsNewOptions,
  LogLevel,
  LogSink,
  ReplaySafeLogger,
  SignalEntityOptions,
  TaskHelpers,
} from "./core/context.js";
export { OrchestrationContext } from "./core/context.js";
export type { LockState } from "./core/critical-section.js";
export { EntityLockTask, LockHandle } from "./core/critical-section.js";
export type { EntityFunction } from "./core/entity-batch.js";
export type { EntitySignalOptions } from "./core/entity-context.js";
export { EntityContext } from "./core/entity-context.js";
export type { EntityIdLike } from "./core/entity-id.js";
export { EntityId } from "./core/entity-id.js";
export type { ErrorCode, FailureDetails } from "./core/errors.js";
export {
  ActivityNotFoundError,
  EntityNotFoundError,
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InstanceNotRunningError,
  InvalidArgumentError,
  InvalidStateError,
  InvalidYieldError,
  LeaseLostError,
  LockingRulesViolationError,
  NonDeterminismError,
  OrchestratorNotFoundError,
  PayloadNotSerializableError,
  PayloadTooLargeError,
  RefrainError,
  StoreCorruptError,
  StoreUnavailableError,
  TaskFailedError,
  TimeoutError,
} from "./core/errors.js";
export type { HistoryEvent, HistoryEventKind, RuntimeStatus } from "./core/events.js";
export { RUNTIME_STATUSES } from "./core/events.js";
export type { DurableHttpRequest, DurableHttpResponse } from "./core/http-types.js";
export type { ActivityRef, EntityRef, OrchestratorRef } from "./core/refs.js";
export type { OrchestratorFunction } from "./core/replay.js";
export type { RetryPolicy, TaskResult } from "./core/tasks.js";
export { ExternalEventTask, RetryOptions, Task, TimerTask } from "./core/tasks.js";
export type { ActivityContext, ActivityFunction, EngineLogger } from "./dispatch/runtime.js";
export type {
  CleanEntityStorageOptions,
  CleanEntityStorageResult,
  EntityMetadata,
  EntityQuery,
  EntityStateResponse,
  SignalEntityClientOptions,
} from "./entity-client.js";
export type {
  HttpManagementPayload,
  HttpResponseInit,
  RequestLike,
  StatusBody,
} from "./http/management.js";
export { createCheckStatusResponse, createHttpManagementPayload } from "./http/management.js";
export type { HttpHandlerOptions, HttpRequestHandler, HttpServer, HttpServerOptions } from "./http/server.js";
export { createHttpHandler, createHttpServer } from "./http/server.js";
export type { TaskHubOptions } from "./hub.js";
export { TaskHub } from "./hub.js";
export type {
  CreateLoggerOptions,
  EngineLogFormat,
  EngineLogLevel,
  PinoLike,
} from "./observability/logging.js";
export { createLogger, fromPino } from "./observability/logging.js";
export type { HistoryEventView, OrchestrationStatus, StatusOptions } from "./status.js";
export { MemoryStore } from "./store/memory/memory-store.js";
export { PostgresStore } from "./store/postgres/postgres-store.js";
export type { PostgresStoreOptions } from "./store/postgres/setup.js";
export type { SqliteDiagnostics, SqliteStoreOptions } from "./store/sqlite/open.js";
export { SqliteStore } from "./store/sqlite/sqlite-store.js";
export type { Store } from "./store/store.js";
