/**
 * TaskHub: the registry of a process's functions, the owner of its store, and the switch for its
 * workers. `start()` runs dispatchers for every registered name; `client` works without it.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { DurableClient } from "./client.js";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "./core/codec.js";
import type { LogSink } from "./core/context.js";
import type { EntityFunction } from "./core/entity-batch.js";
import { EntityId, entityNameProblem } from "./core/entity-id.js";
import { InvalidArgumentError, RefrainError } from "./core/errors.js";
import { HTTP_ACTIVITY_NAME } from "./core/http-types.js";
import type { NewInstance } from "./core/records.js";
import {
  type ActivityRef,
  type EntityRef,
  type NameRegistry,
  nameProblem,
  type OrchestratorRef,
  orchestratorNameProblem,
} from "./core/refs.js";
import type { OrchestratorFunction } from "./core/replay.js";
import { ActivityDispatcher } from "./dispatch/activity-dispatcher.js";
import { CommitBatcher } from "./dispatch/commit-batcher.js";
import { EntityDispatcher } from "./dispatch/entity-dispatcher.js";
import { OrchestrationDispatcher, type PendingCommit } from "./dispatch/orchestration-dispatcher.js";
import type { ActivityContext, ActivityFunction, EngineLogger, HubRuntime } from "./dispatch/runtime.js";
import { httpActivity } from "./http-activity.js";
import { createLogger } from "./observability/logging.js";
import { QueueGauges } from "./observability/queue-gauges.js";
import { SqliteStore } from "./store/sqlite/sqlite-store.js";
import type { ActivityWorkItem, Store } from "./store/store.js";

/** Options of a task hub. Every field is optional. */
export interface TaskHubOptions {
  /** Task hub name (default "default"); instance IDs are unique per hub. */
  name?: string;
  /** Where state lives. Default: `new SqliteStore({ path: process.env.REFRAIN_DB ?? ".refrain/refrain.db" })`. */
  store?: Store;
  /** Identifies this process in leases. Default: `<hostname>:<pid>:<random>`. */
  workerId?: string;
  /** Activities run at once by this process (default 100). */
  maxConcurrentActivities?: number;
  /**
   * Orchestration steps run at once by this process (default 100). A step waiting only for its
   * group commit frees its slot, while fewer than this many commits wait.
   */
  maxConcurrentOrchestrations?: number;
  /** Entity batches run at once by this process (default 16; one entity never runs twice at once). */
  maxConcurrentEntities?: number;
  /** Lease length; a crashed worker's work is taken over after this (default 10 000 ms). */
  leaseMs?: number;
  /** Largest serialised input, output or event payload (default 1 MiB). */
  maxPayloadBytes?: number;
  /** Upper bound of the idle polling interval that notices work from other processes (default 1000 ms). */
  maxIdleMs?: number;
  /**
   * Instances whose replay state this process keeps in memory between steps (default 1000; 0
   * disables). A cached instance's next step costs O(new events) instead of a full replay.
   */
  replayCacheSize?: number;
  /**
   * How far ahead an idle worker leases instances whose messages (timers, delayed starts) are about
   * to come due, so their steps start on time without waiting for a lease (default 1000 ms, or a
   * quarter of `leaseMs` if less; 0 disables; at most half of `leaseMs`). A message for a held instance
   * from this process (on PostgreSQL, from any) ends the hold at once; one from another process
   * on a shared SQLite file may wait until the held instance's due time.
   */
  lookAheadMs?: number;
  /** How long `stop()` waits for running activities before releasing them (default 10 000 ms). */
  stopGraceMs?: number;
  /**
   * Accept orchestrator, activity and entity names this process did not register (default: false
   * once any orchestrator is registered). Set it when several processes serve different functions.
   */
  acceptUnregisteredNames?: boolean;
  /**
   * Engine log lines. Default: `createLogger()`: level `REFRAIN_LOG_LEVEL` (default warn), JSON
   * lines unless stderr is a TTY or `REFRAIN_LOG_FORMAT` says otherwise. See docs/observability.md.
   */
  logger?: EngineLogger;
  /** Where orchestrators' replay-safe `ctx.log` writes. Default: console. */
  orchestrationLog?: LogSink;
  /**
   * Origin of this hub's HTTP management API (e.g. "http://127.0.0.1:7071"), used by
   * `client.createHttpManagementPayload` and `client.createCheckStatusResponse`.
   */
  httpBaseUrl?: string;
}

const HUB_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Default activities and orchestration steps run at once per process. Work waiting for a slot
 * waits in the store; a slot held by a step or an activity that is waiting on I/O costs little,
 * and more slots make bigger group commits.
 */
const DEFAULT_CONCURRENCY = 100;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be an integer ≥ 0`);
  return value;
}

/** The look-ahead window: `lookAheadMs` checked against the lease length, or its default. */
function lookAheadMs(value: number | undefined, leaseMs: number): number {
  const ms = nonNegativeInt("lookAheadMs", value, Math.min(1_000, Math.floor(leaseMs / 4)));
  if (ms > leaseMs / 2) {
    throw new InvalidArgumentError(`lookAheadMs must be at most half of leaseMs (${leaseMs}), got ${ms}`);
  }
  return ms;
}

function checkBaseUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const url = typeof value === "string" && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InvalidArgumentError(
      `httpBaseUrl must be an absolute http(s) URL, got ${JSON.stringify(value)}`,
    );
  }
  return url.origin;
}

/** A task hub: register functions, then `start()` workers and use `client`. */
export class TaskHub implements NameRegistry {
  /** The hub name. */
  readonly name: string;
  /** The store this hub runs on. */
  readonly store: Store;
  /** Manages instances; usable without `start()`. */
  readonly client: DurableClient;
  private readonly orchestrators = new Map<string, OrchestratorFunction>();
  private readonly activities = new Map<string, ActivityFunction>();
  /** By lower-cased name: entity names are case-insensitive, as in entity IDs. */
  private readonly entities = new Map<string, EntityFunction>();
  /**
   * Each kind's registered names, sorted, built at the first call after a registration: every
   * scheduled activity, child and entity call checks its name against them.
   */
  private readonly sortedNames: { [K in "orchestrator" | "activity" | "entity"]?: readonly string[] } = {};
  private readonly options: TaskHubOptions;
  private opened: Promise<void> | undefined;
  private state: "idle" | "started" | "stopped" = "idle";
  private workers:
    | {
        orchestrations: OrchestrationDispatcher;
        activities: ActivityDispatcher;
        entities: EntityDispatcher;
        unsubscribe: () => void;
        gauges: QueueGauges;
      }
    | undefined;
  private readonly settings: {
    leaseMs: number;
    maxPayloadBytes: number;
    maxIdleMs: number;
    stopGraceMs: number;
    replayCacheSize: number;
    lookAheadMs: number;
  };

  constructor(options: TaskHubOptions = {}) {
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options must be an object");
    this.options = options;
    this.name = options.name ?? "default";
    if (!HUB_NAME.test(this.name)) {
      throw new InvalidArgumentError(
        `task hub name '${this.name}' is invalid: use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit`,
      );
    }
    const leaseMs = positiveInt("leaseMs", options.leaseMs, 10_000);
    this.settings = {
      leaseMs,
      maxPayloadBytes: positiveInt("maxPayloadBytes", options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES),
      maxIdleMs: positiveInt("maxIdleMs", options.maxIdleMs, 1_000),
      stopGraceMs: positiveInt("stopGraceMs", options.stopGraceMs, 10_000),
      replayCacheSize: nonNegativeInt("replayCacheSize", options.replayCacheSize, 1_000),
      lookAheadMs: lookAheadMs(options.lookAheadMs, leaseMs),
    };
    positiveInt("maxConcurrentActivities", options.maxConcurrentActivities, DEFAULT_CONCURRENCY);
    positiveInt("maxConcurrentOrchestrations", options.maxConcurrentOrchestrations, DEFAULT_CONCURRENCY);
    positiveInt("maxConcurrentEntities", options.maxConcurrentEntities, 16);
    this.store = options.store ?? new SqliteStore({ path: process.env.REFRAIN_DB || ".refrain/refrain.db" });
    this.client = new DurableClient({
      hub: this.name,
      store: this.store,
      ready: () => this.ready(),
      registry: () => this.strictRegistry(),
      maxPayloadBytes: this.settings.maxPayloadBytes,
      httpBaseUrl: checkBaseUrl(options.httpBaseUrl),
      create: (instance) => this.create(instance),
    });
    this.activities.set(HTTP_ACTIVITY_NAME, httpActivity as ActivityFunction);
  }

  /** Registers an activity and returns a typed reference to it. */
  activity<I = unknown, O = unknown>(
    name: string,
    fn: (input: I, ctx: ActivityContext) => O | Promise<O>,
  ): ActivityRef<I, Awaited<O>> {
    this.checkRegistration("activity", name, fn, this.activities);
    this.activities.set(name, fn as ActivityFunction);
    delete this.sortedNames.activity;
    return { kind: "activity", name };
  }

  /** Registers an orchestrator (a generator function) and returns a typed reference to it. */
  orchestrator<I = unknown, O = unknown>(
    name: string,
    fn: OrchestratorFunction<I, O>,
  ): OrchestratorRef<I, O> {
    this.checkRegistration("orchestrator", name, fn, this.orchestrators);
    const kind = (fn as { constructor?: { name?: string } }).constructor?.name;
    if (kind === "AsyncGeneratorFunction" || kind === "AsyncFunction") {
      throw new InvalidArgumentError(
        `orchestrator '${name}' must be a synchronous generator function (function*), not an async function: ` +
          "orchestrators yield tasks instead of awaiting promises",
      );
    }
    this.orchestrators.set(name, fn as OrchestratorFunction);
    delete this.sortedNames.orchestrator;
    return { kind: "orchestrator", name };
  }

  /**
   * Registers an entity and returns a reference to it (`ref.id(key)` gives an entity's ID). Names
   * are case-insensitive and must not contain "@". The function runs one operation per call,
   * synchronously; see `EntityContext`.
   */
  entity<S = unknown>(name: string, fn: EntityFunction<S>): EntityRef<S> {
    if (this.state !== "idle") throw new RefrainError("INVALID_STATE", "register entities before start()");
    const problem = entityNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem);
    if (typeof fn !== "function") throw new InvalidArgumentError(`entity '${name}' must be a function`);
    const key = name.toLowerCase();
    if (this.entities.has(key)) throw new InvalidArgumentError(`entity '${name}' is already registered`);
    this.entities.set(key, fn as EntityFunction);
    delete this.sortedNames.entity;
    return { kind: "entity", name, id: (entityKey: string) => new EntityId(name, entityKey) };
  }

  /** The function registered under `name`, for testing tools such as `replayHistory`. */
  orchestratorFunction(name: string): OrchestratorFunction | undefined {
    return this.orchestrators.get(name);
  }

  /** Registered orchestrator names, sorted. */
  orchestratorNames(): readonly string[] {
    this.sortedNames.orchestrator ??= Object.freeze([...this.orchestrators.keys()].sort());
    return this.sortedNames.orchestrator;
  }

  /** Registered entity names (lower-cased), sorted. */
  entityNames(): readonly string[] {
    this.sortedNames.entity ??= Object.freeze([...this.entities.keys()].sort());
    return this.sortedNames.entity;
  }

  /** Registered activity names, sorted; the built-in `refrain.http` (behind `ctx.callHttp`) included. */
  activityNames(): readonly string[] {
    this.sortedNames.activity ??= Object.freeze([...this.activities.keys()].sort());
    return this.sortedNames.activity;
  }

  /** Opens the store and starts this process's workers. */
  async start(): Promise<void> {
    if (this.state === "stopped")
      throw new RefrainError("HUB_STOPPED", "this task hub was stopped; create a new one");
    if (this.state === "started") return;
    this.state = "started";
    try {
      await this.ready();
    } catch (err) {
      if (this.state === "started") this.state = "idle"; // so that a retry reports the error again
      throw err;
    }
    // stop() may have run while the store was opening: start no workers on a closed store.
    if (this.state !== "started")
      throw new RefrainError("HUB_STOPPED", "this task hub was stopped while starting");
    const rt: HubRuntime = {
      hub: this.name,
      store: this.store,
      workerId: this.options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      orchestrators: this.orchestrators,
      activities: this.activities,
      entities: this.entities,
      registry: this.strictRegistry(),
      leaseMs: this.settings.leaseMs,
      maxPayloadBytes: this.settings.maxPayloadBytes,
      maxIdleMs: this.settings.maxIdleMs,
      replayCacheSize: this.settings.replayCacheSize,
      lookAheadMs: this.settings.lookAheadMs,
      logger: this.options.logger ?? createLogger(),
      logSink: this.options.orchestrationLog,
    };
    // The activity dispatcher asks the orchestration dispatcher for the step that follows each
    // completion (committed together when the instance has not changed).
    const activities: ActivityDispatcher = new ActivityDispatcher(
      rt,
      this.options.maxConcurrentActivities ?? DEFAULT_CONCURRENCY,
      (task, result) => orchestrations.prepareFollowingStep(task, result),
    );
    // One group commit for orchestration and entity steps: their checkpoints share transactions,
    // and the activity tasks they create are claimed for this worker's free activity slots.
    const commits = new CommitBatcher<PendingCommit>((items) =>
      activities.claiming(
        (claim) => this.store.commitOrchestrations(this.name, items, claim),
        ActivityDispatcher.claimedBy,
      ),
    );
    const orchestrations = new OrchestrationDispatcher(
      rt,
      this.options.maxConcurrentOrchestrations ?? DEFAULT_CONCURRENCY,
      commits,
    );
    const entities = new EntityDispatcher(rt, this.options.maxConcurrentEntities ?? 16, commits);
    const unsubscribe = this.store.subscribe(this.name, (n) => {
      if (n.kind === "external-change") {
        orchestrations.wake();
        activities.wake();
        entities.wake();
      } else if (n.kind === "orchestration-work") {
        if (n.instanceId.startsWith("@")) entities.wake(n.visibleAt);
        else orchestrations.wake(n.instanceId, n.visibleAt);
      } else if (n.kind === "activity-work") activities.wake();
    });
    const gauges = new QueueGauges(this.store, this.name);
    this.workers = { orchestrations, activities, entities, unsubscribe, gauges };
    orchestrations.start();
    activities.start();
    entities.start();
  }

  /**
   * Stops gracefully: no new work is leased, running steps commit, running activities get
   * `stopGraceMs` to finish before their leases are released; then the store is closed.
   */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    const workers = this.workers;
    this.workers = undefined;
    if (workers) {
      workers.unsubscribe();
      workers.gauges.stop();
      await Promise.all([
        workers.orchestrations.stop(),
        workers.activities.stop(this.settings.stopGraceMs),
        workers.entities.stop(),
      ]);
    }
    await this.store.close();
  }

  /**
   * Creates an instance for the client. When this process runs its orchestrator, the first step
   * is computed here and committed with the creation (its activity tasks claimed for this
   * worker): no start message, no lease. Otherwise the start message is queued.
   */
  private async create(instance: NewInstance): Promise<void> {
    const workers = this.workers;
    const prepared = workers?.orchestrations.prepareFirstStep(instance);
    if (!workers || !prepared) {
      await this.store.createInstance(this.name, instance);
      return;
    }
    let committed = false;
    let durable: Promise<unknown> | undefined;
    try {
      // The claimed activities start when the creation is committed (a store may say so before
      // it is durable); the caller's startNew returns once it is durable.
      await workers.activities.claiming(
        (claim) =>
          new Promise<ActivityWorkItem[]>((resolve, reject) => {
            durable = this.store.createInstance(this.name, instance, {
              firstStep: prepared.step,
              claim,
              onCommitted: resolve,
            });
            durable.then(resolve as (value: unknown) => void, reject);
          }),
        (claimed) => claimed,
      );
      committed = true;
    } finally {
      prepared.settle(committed);
    }
    await durable;
  }

  private ready(): Promise<void> {
    if (this.state === "stopped")
      return Promise.reject(new RefrainError("HUB_STOPPED", "this task hub was stopped"));
    this.opened ??= this.store.open();
    return this.opened;
  }

  /** The registry that rejects unknown names, or undefined when unknown names are accepted. */
  private strictRegistry(): NameRegistry | undefined {
    if (this.options.acceptUnregisteredNames || this.orchestrators.size === 0) return undefined;
    return this;
  }

  private checkRegistration(kind: string, name: string, fn: unknown, map: Map<string, unknown>): void {
    if (this.state !== "idle") throw new RefrainError("INVALID_STATE", `register ${kind}s before start()`);
    const problem =
      kind === "orchestrator" ? orchestratorNameProblem(name) : nameProblem(`${kind} name`, name);
    if (problem) throw new InvalidArgumentError(problem);
    if (typeof fn !== "function") throw new InvalidArgumentError(`${kind} '${name}' must be a function`);
    if (map.has(name)) throw new InvalidArgumentError(`${kind} '${name}' is already registered`);
  }
}
