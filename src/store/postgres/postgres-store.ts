/**
 * The PostgreSQL Store: any number of task hubs in one schema of a shared database, used by many
 * worker processes at once. Work is distributed with `FOR UPDATE SKIP LOCKED`; every lease has a
 * fresh token that each commit checks in its own transaction; each call is one round trip (a
 * single statement or one PL/pgSQL function call, so a dropped connection never leaves half a
 * change). Lease expiry and visibility are judged by the calling process's clock (`Date.now()`),
 * exactly like the SQLite store, so hosts sharing a database need synchronised clocks.
 *
 * Transient failures (lost connections, server shutdown, serialization failures, deadlocks) are
 * retried inside the store with backoff; when every attempt fails the call throws
 * `StoreUnavailableError`. A retry after a lost connection may follow a commit that did happen:
 * `createInstance` then recognises its own instance by execution ID and succeeds;
 * `commitOrchestration` and `completeActivity` throw `LeaseLostError`, which the dispatchers treat
 * as "drop the work item" (the effect is already durable); `leaseNext*` may leave an orphaned lease
 * that simply expires; `appendMessage` finds the key its earlier attempt stored and succeeds
 * without adding the message again.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { HistoryEvent, TaskCompletedEvent, TaskFailedEvent } from "../../core/events.js";
import {
  decodeContinuationToken,
  inboxKindsOf,
  instancePage,
  storeClosedError,
  throwIfRefused,
  toQueueStats,
  validateBatchSize,
  validateDuration,
  validateFilter,
  validatePageSize,
} from "../common.js";
import { InstanceReads } from "../instance-reads.js";
import { toInstanceRecord } from "../rows.js";
import type {
  ActivityClaim,
  ActivityCompletion,
  ActivityLease,
  ActivityWorkItem,
  AppendOptions,
  Checkpoint,
  CommitOutcome,
  CreateOptions,
  InboxMessage,
  InstanceFilter,
  InstancePage,
  InstanceQuery,
  InstanceRecord,
  LeaseOptions,
  NewInstance,
  NewMessage,
  OrchestrationLease,
  OrchestrationWorkItem,
  PurgeOptions,
  QueueStats,
  Store,
  StoreNotification,
} from "../store.js";
import { AppendQueue } from "./append-queue.js";
import { CreateQueue } from "./create-queue.js";
import { withRetry } from "./errors.js";
import { ChangeFeed } from "./notifications.js";
import {
  type InstanceRow,
  listQuery,
  purgeQuery,
  type Statements,
  statements,
  terminalIdsQuery,
} from "./operations.js";
import { applyMigrations, channelName } from "./schema.js";
import { type PostgresStoreOptions, type ResolvedOptions, resolveOptions } from "./setup.js";
import { StatsWarmup } from "./stats-warmup.js";
import { claimJson, PostgresWork } from "./work.js";

/** A Store kept in a PostgreSQL schema (kind "postgres"). */
export class PostgresStore implements Store {
  /** Always "postgres". */
  readonly kind = "postgres";
  /** True: other processes' changes arrive through LISTEN/NOTIFY. */
  readonly notifiesAcrossProcesses = true;
  /** The PostgreSQL schema holding this store's tables. */
  readonly schema: string;
  private readonly options: ResolvedOptions;
  private readonly sql: Statements;
  /** Single-row reads of one turn, answered by one query (see InstanceReads). */
  private readonly reads = new InstanceReads((hub, ids) =>
    this.run("getInstance", ids.length === 1 ? ids[0] : undefined, async (db) => {
      return (await db.query<InstanceRow>(this.sql.getInstances, [hub, ids])).rows;
    }),
  );
  private readonly origin = randomUUID();
  private readonly feed: ChangeFeed;
  private pool: pg.Pool | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly work: PostgresWork;
  private readonly creates: CreateQueue;
  private readonly appends: AppendQueue;
  private warmup: StatsWarmup | undefined;

  /** Validates the options; nothing is opened until `open()`. */
  constructor(options: PostgresStoreOptions = {}) {
    this.options = resolveOptions(options);
    this.schema = this.options.schema;
    this.sql = statements(`"${this.schema}"`);
    this.feed = new ChangeFeed({
      client: this.options.pool,
      channel: channelName(this.schema),
      origin: this.origin,
    });
    const binding = {
      run: <T>(
        operation: string,
        subject: string | undefined,
        fn: (db: pg.Pool, attempt: number) => Promise<T>,
      ) => this.run(operation, subject, fn),
      schema: `"${this.schema}"`,
      sql: this.sql,
      origin: this.origin,
      emit: (hub: string, notifications: StoreNotification[]) => this.feed.emit(hub, notifications),
      wrote: (rows: number) => this.warmup?.wrote(rows),
    };
    this.work = new PostgresWork(binding);
    this.creates = new CreateQueue(binding);
    this.appends = new AppendQueue(binding);
  }

  /** Connects and applies migrations (under an advisory lock). Idempotent. */
  async open(): Promise<void> {
    if (this.closed) throw storeClosedError(this.kind, true);
    if (this.pool) return;
    this.opening ??= this.connect().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Waits for pending calls, then closes the pool and the listening connection. */
  async close(): Promise<void> {
    if (this.pool && !this.closed) {
      this.creates.flush();
      this.appends.flush();
    }
    this.closed = true;
    this.warmup?.stop();
    await this.opening?.catch(() => {});
    await Promise.allSettled([...this.pending]);
    await this.feed.close();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  /** Resolves once other processes' changes reach `subscribe` listeners (after the first subscribe). */
  notificationsReady(): Promise<void> {
    return this.feed.whenListening();
  }

  /**
   * Creates a Pending instance and queues its start message (or commits its first step);
   * replaces a terminal instance. Returns the claimed tasks of the first step.
   */
  async createInstance(
    hub: string,
    instance: NewInstance,
    options: CreateOptions = {},
  ): Promise<ActivityWorkItem[]> {
    this.livePool();
    claimJson(options.claim, 0); // a bad claim fails its own call, not the batch it would join
    return this.creates.create(hub, instance, options);
  }

  /** Adds a message to an existing instance's inbox (or, with `ensureTarget`, creates the row). */
  async appendMessage(hub: string, message: NewMessage, options?: AppendOptions): Promise<void> {
    this.livePool();
    return this.appends.append(hub, message, options);
  }

  /** The instance row, or undefined. */
  async getInstance(hub: string, instanceId: string): Promise<InstanceRecord | undefined> {
    this.livePool();
    const row = await this.reads.read(hub, instanceId);
    return row ? toInstanceRecord(row) : undefined;
  }

  /** The current execution's history ([] for an unknown instance). */
  async getHistory(hub: string, instanceId: string): Promise<HistoryEvent[]> {
    return this.run("getHistory", instanceId, async (db) => {
      const { rows } = await db.query<{ event: string }>(this.sql.getHistory, [hub, instanceId]);
      return rows.map((r) => JSON.parse(r.event) as HistoryEvent);
    });
  }

  /** A page of instances ordered by (createdAt, instanceId). */
  async listInstances(hub: string, query: InstanceQuery): Promise<InstancePage> {
    const pageSize = validatePageSize(query.pageSize);
    validateFilter(query);
    const after =
      query.continuationToken === undefined ? undefined : decodeContinuationToken(query.continuationToken);
    const rows = await this.run("listInstances", undefined, async (db) => {
      return (await db.query<InstanceRow>(listQuery(`"${this.schema}"`, hub, query, after, pageSize + 1)))
        .rows;
    });
    return instancePage(rows.map(toInstanceRecord), pageSize);
  }

  /** Deletes terminal (and, with `idleOnly`, idle) instances selected by IDs or filter; returns the count. */
  async purgeInstances(
    hub: string,
    selector: { instanceIds: string[] } | { filter: InstanceFilter },
    options: PurgeOptions = {},
  ): Promise<number> {
    if ("filter" in selector) validateFilter(selector.filter);
    if (options.idleOnly) return this.purgeIdle(hub, selector);
    return this.run("purgeInstances", undefined, async (db) => {
      const { rows } = await db.query<{ deleted: number }>(purgeQuery(`"${this.schema}"`, hub, selector));
      return rows[0]?.deleted ?? 0;
    });
  }

  /** The idle purge: candidate IDs (from the filter), then one call that locks, checks and deletes each. */
  private async purgeIdle(
    hub: string,
    selector: { instanceIds: string[] } | { filter: InstanceFilter },
  ): Promise<number> {
    const ids =
      "instanceIds" in selector
        ? [...new Set(selector.instanceIds)]
        : (
            await this.run("purgeInstances", undefined, (db) =>
              db.query<{ instance_id: string }>(terminalIdsQuery(`"${this.schema}"`, hub, selector.filter)),
            )
          ).rows.map((r) => r.instance_id);
    if (ids.length === 0) return 0;
    return this.run("purgeInstances", undefined, async (db) => {
      const { rows } = await db.query<{ deleted: number }>(this.sql.purgeIdle, [hub, ids, Date.now()]);
      return rows[0]?.deleted ?? 0;
    });
  }

  /** Leases the eligible instance with the oldest visible message; drops messages without a row. */
  async leaseNextOrchestration(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<OrchestrationWorkItem | undefined> {
    return (await this.leaseOrchestrations(hub, workerId, names, leaseMs, { max: 1 }))[0];
  }

  /** Leases up to `max` eligible instances in one transaction (committed without waiting for the WAL flush). */
  async leaseOrchestrations(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    this.checkLease(leaseMs, options);
    return this.work.leaseOrchestrations(hub, workerId, names, leaseMs, 0, options);
  }

  /** Leases as `leaseOrchestrations` does, counting messages visible within `aheadMs` as visible. */
  async leaseOrchestrationsAhead(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    validateDuration("aheadMs", aheadMs, false);
    this.checkLease(leaseMs, options);
    return this.work.leaseOrchestrations(hub, workerId, names, leaseMs, aheadMs, options);
  }

  /** Checks what every orchestration lease is asked with, and that the store is open. */
  private checkLease(leaseMs: number, options: LeaseOptions): void {
    validateDuration("leaseMs", leaseMs, false);
    validateBatchSize(options.max);
    this.livePool();
  }

  /** The messages visible now of each leased instance, in one query. */
  async readLeasedMessages(hub: string, leases: readonly OrchestrationLease[]): Promise<InboxMessage[][]> {
    this.livePool();
    return this.work.readLeasedMessages(hub, leases);
  }

  /** Commits one orchestration step atomically (fenced by the lease token) and releases the lease. */
  async commitOrchestration(lease: OrchestrationLease, checkpoint: Checkpoint): Promise<void> {
    throwIfRefused(await this.commitOrchestrations(lease.hub, [{ lease, checkpoint }]));
  }

  /** Commits several steps in one transaction; a lost lease refuses only its own step. */
  async commitOrchestrations(
    hub: string,
    commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]> {
    this.livePool();
    return commits.length === 0 ? [] : this.work.commitOrchestrations(hub, commits, claim);
  }

  /** Extends a held orchestration lease by `leaseMs` from now. */
  async renewOrchestrationLease(lease: OrchestrationLease, leaseMs: number): Promise<OrchestrationLease> {
    validateDuration("leaseMs", leaseMs, false);
    return this.work.renewOrchestrationLease(lease, leaseMs);
  }

  /** Releases a held orchestration lease; its visible messages reappear after `delayMs`. */
  async abandonOrchestration(lease: OrchestrationLease, delayMs = 0): Promise<void> {
    validateDuration("delayMs", delayMs, true);
    return this.work.abandonOrchestration(lease, delayMs);
  }

  /** Leases the oldest visible activity task with a name in `names`. */
  async leaseNextActivity(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
  ): Promise<ActivityWorkItem | undefined> {
    return (await this.leaseActivities(hub, workerId, names, leaseMs, 1))[0];
  }

  /** Leases up to `max` visible activity tasks in one transaction. */
  async leaseActivities(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    max: number,
  ): Promise<ActivityWorkItem[]> {
    validateDuration("leaseMs", leaseMs, false);
    validateBatchSize(max);
    this.livePool();
    return this.work.leaseActivities(hub, workerId, names, leaseMs, max);
  }

  /** Deletes the task and queues its result for the instance, atomically (fenced by the token). */
  async completeActivity(lease: ActivityLease, result: TaskCompletedEvent | TaskFailedEvent): Promise<void> {
    throwIfRefused(await this.completeActivities(lease.hub, [{ lease, result }]));
  }

  /**
   * Completes several tasks in one transaction; a lost lease refuses only its own completion. A
   * completion's following step commits in its place when the instance is as the step assumed.
   */
  async completeActivities(
    hub: string,
    completions: readonly ActivityCompletion[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]> {
    this.livePool();
    return completions.length === 0 ? [] : this.work.completeActivities(hub, completions, claim);
  }

  /** Extends a held activity lease by `leaseMs` from now. */
  async renewActivityLease(lease: ActivityLease, leaseMs: number): Promise<ActivityLease> {
    validateDuration("leaseMs", leaseMs, false);
    return this.work.renewActivityLease(lease, leaseMs);
  }

  /** Releases a held activity lease; the task is redelivered after `delayMs`. */
  async abandonActivity(lease: ActivityLease, delayMs = 0): Promise<void> {
    validateDuration("delayMs", delayMs, true);
    return this.work.abandonActivity(lease, delayMs);
  }

  /** The earliest visibleAt among matching inbox messages and activity tasks, leased or not. */
  async nextWakeUp(
    hub: string,
    orchestratorNames: readonly string[],
    activityNames: readonly string[],
  ): Promise<number | undefined> {
    return this.run("nextWakeUp", undefined, async (db) => {
      const times: number[] = [];
      // Names of both kinds (no dispatcher asks so) take one query per kind.
      for (const kind of inboxKindsOf(orchestratorNames)) {
        const params = [hub, [...orchestratorNames], [...activityNames], kind];
        const { rows } = await db.query<{ orchestrations: string | null; activities: string | null }>(
          this.sql.nextWakeUp,
          params,
        );
        for (const t of [rows[0]?.orchestrations, rows[0]?.activities]) if (t != null) times.push(Number(t));
      }
      return times.length === 0 ? undefined : Math.min(...times);
    });
  }

  /** Counts the due messages and tasks and finds the oldest of each, in one statement. */
  async queueStats(hub: string, now: number): Promise<QueueStats> {
    return this.run("queueStats", undefined, async (db) => {
      const { rows } = await db.query<{
        messages: string;
        oldest_message: string | null;
        activities: string;
        oldest_activity: string | null;
      }>(this.sql.queueStats, [hub, now]);
      const r = rows[0]!;
      return toQueueStats(r.messages, r.oldest_message, r.activities, r.oldest_activity);
    });
  }

  /** Registers a listener for this store's changes and, via LISTEN, other processes' changes. */
  subscribe(hub: string, listener: (notification: StoreNotification) => void): () => void {
    this.livePool();
    return this.feed.subscribe(hub, listener);
  }

  private async connect(): Promise<void> {
    const pool = new pg.Pool(this.options.pool);
    // Idle clients whose connection dies emit here; the pool discards them by itself.
    pool.on("error", () => {});
    try {
      await withRetry({ operation: "open", schema: this.schema }, this.options, async () => {
        const client = await pool.connect();
        let failure: Error | undefined;
        try {
          await applyMigrations(client, this.schema);
        } catch (err) {
          failure = err instanceof Error ? err : new Error(String(err));
          throw err;
        } finally {
          client.release(failure);
        }
      });
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    // Set even when close() was called meanwhile: it waits for this open, then ends the pool.
    this.pool = pool;
    this.warmup = new StatsWarmup(pool, this.schema);
  }

  private livePool(): pg.Pool {
    if (!this.pool || this.closed) throw storeClosedError(this.kind, this.closed);
    return this.pool;
  }

  /** Runs one call with retries, tracked so `close()` waits for it. */
  private run<T>(
    operation: string,
    subject: string | undefined,
    fn: (db: pg.Pool, attempt: number) => Promise<T>,
  ): Promise<T> {
    const pool = this.livePool();
    const call = withRetry({ operation, schema: this.schema, subject }, this.options, (n) => fn(pool, n));
    this.pending.add(call);
    const untrack = (): void => {
      this.pending.delete(call);
    };
    call.then(untrack, untrack);
    return call;
  }
}
