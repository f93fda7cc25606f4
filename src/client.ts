/**
 * DurableClient: manages instances by ID over the store. Every method validates its input before
 * touching the store, and every write is durable before the call returns.
 */
import { randomUUID } from "node:crypto";
import { type Payload, serialize } from "./core/codec.js";
import type { EntityIdLike } from "./core/entity-id.js";
import {
  InstanceNotFoundError,
  InvalidArgumentError,
  InvalidStateError,
  OrchestratorNotFoundError,
  TimeoutError,
} from "./core/errors.js";
import {
  type ExecutionRewoundEvent,
  type ExecutionTerminatedEvent,
  type InboxEvent,
  isTerminalStatus,
  makeEvent,
  RUNTIME_STATUSES,
  type RuntimeStatus,
} from "./core/events.js";
import type { InstanceRecord, NewInstance } from "./core/records.js";
import {
  type NameRegistry,
  nameProblem,
  type OrchestratorRef,
  orchestrationIdProblem,
  orchestratorNameProblem,
  refName,
} from "./core/refs.js";
import {
  type CleanEntityStorageOptions,
  type CleanEntityStorageResult,
  EntityClient,
  type EntityMetadata,
  type EntityQuery,
  type EntityStateResponse,
  type SignalEntityClientOptions,
} from "./entity-client.js";
import {
  createCheckStatusResponse,
  createHttpManagementPayload,
  type HttpManagementPayload,
  type HttpResponseInit,
  type RequestLike,
} from "./http/management.js";
import { InstanceWatch } from "./instance-watch.js";
import { currentTraceparent } from "./observability/tracing.js";
import { type OrchestrationStatus, type StatusOptions, toStatus } from "./status.js";
import type { InstanceFilter, Store } from "./store/store.js";

/** Options of `startNew`. */
export interface StartNewOptions<I = unknown> {
  input?: I;
  /** Your own ID; a UUID when omitted. */
  instanceId?: string;
  /** Start later: the instance stays Pending until then. */
  startAt?: Date;
}

/** Query of `listInstances`. */
export interface ListInstancesQuery {
  createdFrom?: Date;
  createdTo?: Date;
  runtimeStatus?: RuntimeStatus[];
  instanceIdPrefix?: string;
  pageSize?: number;
  continuationToken?: string;
}

/** Filter of `purgeInstanceHistoryBy` and `getStatusBy`. */
export interface PurgeFilter {
  createdFrom?: Date;
  createdTo?: Date;
  runtimeStatus?: RuntimeStatus[];
}

/** What the client needs from its hub. @internal */
export interface ClientBinding {
  hub: string;
  store: Store;
  /** Opens the store (once) before first use. */
  ready: () => Promise<void>;
  /** Returns a registry when unknown orchestrator names are rejected. */
  registry: () => NameRegistry | undefined;
  maxPayloadBytes: number;
  /** Origin of the HTTP management API, when configured. */
  httpBaseUrl?: string;
  /**
   * Creates an instance, running its first step at once when this process runs it (a started hub
   * with the orchestrator); without it, `store.createInstance` queues the start message.
   */
  create?: (instance: NewInstance) => Promise<void>;
}

function checkId(instanceId: unknown): string {
  const problem = orchestrationIdProblem(instanceId);
  if (problem) throw new InvalidArgumentError(problem);
  return instanceId as string;
}

function checkReason(reason: unknown): string | undefined {
  if (reason === undefined) return undefined;
  if (typeof reason !== "string") throw new InvalidArgumentError("reason must be a string");
  return reason;
}

function toFilter(filter: PurgeFilter | ListInstancesQuery): InstanceFilter {
  const out: InstanceFilter = { instanceKind: "orchestration" };
  for (const key of ["createdFrom", "createdTo"] as const) {
    const value = filter[key];
    if (value === undefined) continue;
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new InvalidArgumentError(`${key} must be a valid Date`);
    out[key] = value.getTime();
  }
  if (filter.runtimeStatus !== undefined) {
    if (!Array.isArray(filter.runtimeStatus))
      throw new InvalidArgumentError("runtimeStatus must be an array");
    for (const s of filter.runtimeStatus) {
      if (!RUNTIME_STATUSES.includes(s)) {
        throw new InvalidArgumentError(
          `unknown runtime status '${String(s)}' (expected one of ${RUNTIME_STATUSES.join(", ")})`,
        );
      }
    }
    out.runtimeStatus = [...filter.runtimeStatus];
  }
  if ("instanceIdPrefix" in filter && filter.instanceIdPrefix !== undefined) {
    if (typeof filter.instanceIdPrefix !== "string")
      throw new InvalidArgumentError("instanceIdPrefix must be a string");
    out.instanceIdPrefix = filter.instanceIdPrefix;
  }
  return out;
}

/**
 * How often `waitForCompletion` re-reads an instance on a store whose notifications already cover
 * other processes: a safety net for a notification lost while a listener reconnects.
 */
const NOTIFIED_POLL_MS = 10_000;

/** Starts, queries and manages orchestration instances and entities. */
export class DurableClient {
  private readonly entities: EntityClient;
  private readonly watch: InstanceWatch;

  constructor(private readonly binding: ClientBinding) {
    this.entities = new EntityClient(binding);
    this.watch = new InstanceWatch(binding.store, binding.hub);
  }

  /** Starts an orchestration and returns its instance ID. */
  async startNew<I, O>(orchestrator: OrchestratorRef<I, O>, options?: StartNewOptions<I>): Promise<string>;
  async startNew(name: string, options?: StartNewOptions): Promise<string>;
  async startNew(
    nameOrRef: string | OrchestratorRef<unknown, unknown>,
    options: StartNewOptions = {},
  ): Promise<string> {
    const name = refName(nameOrRef);
    const problem = orchestratorNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem);
    const registry = this.binding.registry();
    if (registry && !registry.orchestratorNames().includes(name)) {
      throw new OrchestratorNotFoundError(name, registry.orchestratorNames());
    }
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options must be an object");
    const instanceId = options.instanceId === undefined ? randomUUID() : checkId(options.instanceId);
    const { startAt } = options;
    if (startAt !== undefined && (!(startAt instanceof Date) || Number.isNaN(startAt.getTime()))) {
      throw new InvalidArgumentError("startAt must be a valid Date");
    }
    const input = serialize(options.input, `input of orchestration '${name}'`, this.binding.maxPayloadBytes);
    await this.create(name, instanceId, input, startAt);
    return instanceId;
  }

  /** The instance's status, or undefined when it does not exist. */
  async getStatus(instanceId: string, options: StatusOptions = {}): Promise<OrchestrationStatus | undefined> {
    checkId(instanceId);
    await this.binding.ready();
    const record = await this.binding.store.getInstance(this.binding.hub, instanceId);
    if (!record) return undefined;
    const history = options.showHistory
      ? await this.binding.store.getHistory(this.binding.hub, instanceId)
      : undefined;
    return toStatus(record, options, history);
  }

  /** One page of instances, oldest first; pass `continuationToken` back for the next page. */
  async listInstances(
    query: ListInstancesQuery = {},
  ): Promise<{ instances: OrchestrationStatus[]; continuationToken?: string }> {
    const filter = toFilter(query);
    if (
      query.pageSize !== undefined &&
      (!Number.isInteger(query.pageSize) || query.pageSize < 1 || query.pageSize > 1000)
    ) {
      throw new InvalidArgumentError("pageSize must be an integer from 1 to 1000");
    }
    if (query.continuationToken !== undefined && typeof query.continuationToken !== "string") {
      throw new InvalidArgumentError("continuationToken must be a string");
    }
    await this.binding.ready();
    const page = await this.binding.store.listInstances(this.binding.hub, {
      ...filter,
      pageSize: query.pageSize,
      continuationToken: query.continuationToken,
    });
    const instances = page.instances.map((r) => toStatus(r));
    return page.continuationToken ? { instances, continuationToken: page.continuationToken } : { instances };
  }

  /** Every instance matching the filter (all pages). */
  async getStatusBy(
    filter: PurgeFilter & { instanceIdPrefix?: string } = {},
  ): Promise<OrchestrationStatus[]> {
    const all: OrchestrationStatus[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.listInstances({ ...filter, pageSize: 1000, continuationToken });
      all.push(...page.instances);
      continuationToken = page.continuationToken;
    } while (continuationToken);
    return all;
  }

  /** Every instance in the task hub. */
  getStatusAll(): Promise<OrchestrationStatus[]> {
    return this.getStatusBy({});
  }

  /**
   * Waits until the instance is Completed, Failed or Terminated and returns its status. Wakes on
   * the store's notifications; also re-reads the instance every `pollMs` (default 10 s on a store
   * whose notifications cover other processes, SQLite and PostgreSQL; 1 s otherwise).
   * Throws `TimeoutError` after `timeoutMs` (default 60 s).
   */
  async waitForCompletion(
    instanceId: string,
    options: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<OrchestrationStatus> {
    checkId(instanceId);
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (!(timeoutMs >= 0)) throw new InvalidArgumentError("timeoutMs must be ≥ 0");
    await this.binding.ready();
    const { store, hub } = this.binding;
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => {};
    // Set by a change notified while the status is being read, which `wake` alone would miss.
    let changed = false;
    const unsubscribe = this.watch.watch(instanceId, (status) => {
      // Only a terminal status ends the wait: other changes need no new read of the instance (an
      // unknown change, made by another process, does).
      if (status !== undefined && !isTerminalStatus(status)) return;
      changed = true;
      wake();
    });
    try {
      for (;;) {
        changed = false;
        const record = await store.getInstance(hub, instanceId);
        if (!record) throw new InstanceNotFoundError(instanceId);
        if (isTerminalStatus(record.runtimeStatus)) return toStatus(record);
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new TimeoutError(
            `instance '${instanceId}' is still ${record.runtimeStatus} after ${timeoutMs} ms`,
          );
        }
        if (changed) continue;
        await new Promise<void>((resolve) => {
          const poll = options.pollMs ?? (store.notifiesAcrossProcesses ? NOTIFIED_POLL_MS : 1_000);
          const timer = setTimeout(resolve, Math.min(left, poll));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      unsubscribe();
    }
  }

  /** Delivers an external event. Throws if the instance is unknown or finished. */
  async raiseEvent(instanceId: string, eventName: string, eventData?: unknown): Promise<void> {
    checkId(instanceId);
    const problem = nameProblem("event name", eventName);
    if (problem) throw new InvalidArgumentError(problem);
    const input = serialize(eventData, `data of event '${eventName}'`, this.binding.maxPayloadBytes);
    await this.send(instanceId, makeEvent(new Date(), { kind: "EventRaised", name: eventName, input }), true);
  }

  /** Terminates a running instance; `recursive` terminates its running sub-orchestrations too. */
  async terminate(instanceId: string, reason?: string, options: { recursive?: boolean } = {}): Promise<void> {
    checkId(instanceId);
    const event = makeEvent<ExecutionTerminatedEvent>(new Date(), {
      kind: "ExecutionTerminated",
      reason: checkReason(reason),
      ...(options.recursive ? { recursive: true } : {}),
    });
    await this.send(instanceId, event, true);
  }

  /** Suspends an instance: it keeps its messages but runs no code until resumed. */
  async suspend(instanceId: string, reason?: string): Promise<void> {
    checkId(instanceId);
    await this.send(
      instanceId,
      makeEvent(new Date(), { kind: "ExecutionSuspended", reason: checkReason(reason) }),
      true,
    );
  }

  /** Resumes a suspended instance. */
  async resume(instanceId: string, reason?: string): Promise<void> {
    checkId(instanceId);
    await this.send(
      instanceId,
      makeEvent(new Date(), { kind: "ExecutionResumed", reason: checkReason(reason) }),
      true,
    );
  }

  /**
   * Makes a Failed instance run its failed steps again. The instance is Pending from the moment
   * this returns, so `waitForCompletion` right after waits for the rewound run.
   */
  async rewind(instanceId: string, reason?: string): Promise<void> {
    checkId(instanceId);
    const event = makeEvent<ExecutionRewoundEvent>(new Date(), {
      kind: "ExecutionRewound",
      reason: checkReason(reason),
    });
    const record = await this.record(instanceId);
    if (record.runtimeStatus !== "Failed") {
      throw new InvalidStateError(
        `only Failed instances can be rewound; '${instanceId}' is ${record.runtimeStatus}`,
      );
    }
    await this.binding.store.appendMessage(
      this.binding.hub,
      {
        instanceId,
        executionId: record.executionId,
        event,
        visibleAt: Date.now(),
      },
      { transition: { from: "Failed", to: "Pending" } },
    );
  }

  /** Starts the instance's orchestration again with the same input; returns the (new) instance ID. */
  async restart(instanceId: string, options: { restartWithNewInstanceId?: boolean } = {}): Promise<string> {
    checkId(instanceId);
    const record = await this.record(instanceId);
    const newId = options.restartWithNewInstanceId === false ? instanceId : randomUUID();
    await this.create(record.name, newId, record.input, undefined);
    return newId;
  }

  /** Deletes a terminal instance and its history. */
  async purgeInstanceHistory(instanceId: string): Promise<{ instancesDeleted: number }> {
    checkId(instanceId);
    await this.binding.ready();
    const instancesDeleted = await this.binding.store.purgeInstances(this.binding.hub, {
      instanceIds: [instanceId],
    });
    return { instancesDeleted };
  }

  /** Deletes every terminal instance matching the filter. */
  async purgeInstanceHistoryBy(filter: PurgeFilter): Promise<{ instancesDeleted: number }> {
    if (filter === null || typeof filter !== "object")
      throw new InvalidArgumentError("filter must be an object");
    const storeFilter = toFilter(filter);
    await this.binding.ready();
    const instancesDeleted = await this.binding.store.purgeInstances(this.binding.hub, {
      filter: storeFilter,
    });
    return { instancesDeleted };
  }

  /** Sends a one-way operation to an entity (which exists from its first message on). */
  signalEntity(
    entity: EntityIdLike,
    operation: string,
    input?: unknown,
    options?: SignalEntityClientOptions,
  ): Promise<void> {
    return this.entities.signalEntity(entity, operation, input, options);
  }

  /** An entity's state as of its last committed operation: `{ entityExists, entityState }`. */
  readEntityState<T = unknown>(entity: EntityIdLike): Promise<EntityStateResponse<T>> {
    return this.entities.readEntityState<T>(entity);
  }

  /** One page of entities (by name and key prefix, optionally with their state). */
  listEntities(query?: EntityQuery): Promise<{ entities: EntityMetadata[]; continuationToken?: string }> {
    return this.entities.listEntities(query);
  }

  /** Releases locks held by orchestrations that no longer run and deletes empty entities. */
  cleanEntityStorage(options?: CleanEntityStorageOptions): Promise<CleanEntityStorageResult> {
    return this.entities.cleanEntityStorage(options);
  }

  private async record(instanceId: string): Promise<InstanceRecord> {
    await this.binding.ready();
    const record = await this.binding.store.getInstance(this.binding.hub, instanceId);
    if (!record) throw new InstanceNotFoundError(instanceId);
    return record;
  }

  private async send(instanceId: string, event: InboxEvent, onlyIfActive: boolean): Promise<void> {
    await this.binding.ready();
    await this.binding.store.appendMessage(
      this.binding.hub,
      { instanceId, event, visibleAt: Date.now() },
      { onlyIfActive },
    );
  }

  /**
   * Durable Functions' management URLs of `instanceId` on the hub's HTTP API
   * (`TaskHubOptions.httpBaseUrl`). Throws `InvalidStateError` when no `httpBaseUrl` is configured.
   */
  createHttpManagementPayload(instanceId: string): HttpManagementPayload {
    return createHttpManagementPayload(this.httpBaseUrl(), checkId(instanceId), {
      taskHub: this.binding.hub,
    });
  }

  /**
   * Durable Functions' check-status response for `request`: 202 with `Location` (the status URL on
   * `TaskHubOptions.httpBaseUrl`), `Retry-After` and the management payload as body. Throws
   * `InvalidStateError` when no `httpBaseUrl` is configured.
   */
  createCheckStatusResponse(
    request: RequestLike,
    instanceId: string,
  ): HttpResponseInit<HttpManagementPayload> {
    return createCheckStatusResponse(request, checkId(instanceId), this.httpBaseUrl(), {
      taskHub: this.binding.hub,
    });
  }

  private httpBaseUrl(): string {
    const base = this.binding.httpBaseUrl;
    if (base === undefined) {
      throw new InvalidStateError(
        "management URLs need the HTTP API's address: pass httpBaseUrl (e.g. 'http://127.0.0.1:7071') to new TaskHub({ ... })",
      );
    }
    return base;
  }

  private async create(
    name: string,
    instanceId: string,
    input: Payload,
    startAt: Date | undefined,
  ): Promise<void> {
    await this.binding.ready();
    const now = new Date();
    const executionId = randomUUID();
    const traceContext = currentTraceparent(); // the caller's active span becomes the instance's parent
    const instance: NewInstance = {
      instanceId,
      name,
      executionId,
      input,
      createdAt: now.getTime(),
      started: makeEvent(now, {
        kind: "ExecutionStarted",
        name,
        instanceId,
        executionId,
        input,
        ...(startAt ? { scheduledStartTime: startAt.toISOString() } : {}),
        ...(traceContext ? { traceContext } : {}),
      }),
      visibleAt: startAt ? startAt.getTime() : now.getTime(),
    };
    if (this.binding.create) await this.binding.create(instance);
    else await this.binding.store.createInstance(this.binding.hub, instance);
  }
}
