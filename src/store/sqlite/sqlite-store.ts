/**
 * The embedded SQLite Store: one file (WAL, synchronous=FULL by default) holding any number of
 * task hubs. One connection, statements prepared once, every write in a `BEGIN IMMEDIATE`
 * transaction so another process (a CLI, a second worker) can share the file safely.
 */
import type BetterSqlite3 from "better-sqlite3";
import { InvalidArgumentError } from "../../core/errors.js";
import type { HistoryEvent, TaskCompletedEvent, TaskFailedEvent } from "../../core/events.js";
import {
  ClaimBudget,
  decodeContinuationToken,
  NotificationHub,
  storeClosedError,
  throwIfRefused,
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
import {
  commitBody,
  completeBody,
  createBody,
  INBOX_START,
  leaseBody,
  leaseClock,
  leaseTasksBody,
  nextHeads,
} from "./batches.js";
import { BACKSTOP_PAGES, Checkpointer } from "./checkpointer.js";
import { SqliteConnection, type WriteBody } from "./connection.js";
import { ExternalChanges } from "./external-changes.js";
import { HeldMessages, heldItems } from "./held-messages.js";
import {
  isPlainFile,
  openDatabase,
  readDiagnostics,
  type SqliteDiagnostics,
  type SqliteStoreOptions,
} from "./open.js";
import { inboxSeqOf, readHistory, visibleMessages } from "./operations.js";
import { listPage, nextWakeUpOf, purgeBody, queueStatsOf } from "./queries.js";
import {
  abandonActivityBody,
  abandonOrchestrationBody,
  appendBody,
  renewActivityBody,
  renewOrchestrationBody,
} from "./single-writes.js";
import { type InstanceRow, inboxKinds, prepareStatements, type Statements } from "./statements.js";
import { WalSync } from "./wal-sync.js";

/** The engine's own step commits settle once committed, before their sync (ADR 011). */
const EARLY = { early: true } as const;

/** A count and the oldest visible time of due work. */

/** A Store kept in one SQLite file (kind "sqlite"). */
export class SqliteStore implements Store {
  /** Always "sqlite". */
  readonly kind = "sqlite";
  /** True: other connections' commits reach listeners as `external-change` (see `subscribe`). */
  readonly notifiesAcrossProcesses = true;
  /** The database file. */
  readonly path: string;
  private readonly synchronous: "FULL" | "NORMAL";
  private readonly busyTimeoutMs: number;
  private syncsOffEventLoop = false;
  private conn: SqliteConnection | undefined;
  private checkpointer: Checkpointer | undefined;
  private db: BetterSqlite3.Database | undefined;
  private closed = false;
  private readonly notifications = new NotificationHub();
  /**
   * Single-row reads asked for by the same run of microtasks, answered in one read transaction
   * (see InstanceReads): a thousand `waitForCompletion` calls woken by one commit cost one.
   */
  private readonly instanceReads = new InstanceReads<InstanceRow>(
    async (hub, ids) =>
      this.read((s) => ids.flatMap((id) => (s.getInstance.get(hub, id) as InstanceRow | undefined) ?? [])),
    queueMicrotask,
  );
  /** Set while a read just went at once: reads asked for in the same run of microtasks batch. */
  private readsJoin = false;
  /** Messages of the instances leased ahead (see HeldMessages). */
  private readonly held = new HeldMessages();
  /** Reports other connections' commits while anyone listens. */
  private readonly external = new ExternalChanges(
    () => this.query((s) => s.dataVersion.get() as number),
    () => this.notifications.emitToAll({ kind: "external-change" }),
  );

  /** Configures the store; nothing is opened until `open()`. */
  constructor(options: SqliteStoreOptions = {}) {
    this.path = options.path ?? ".refrain/refrain.db";
    this.synchronous = options.synchronous ?? "FULL";
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (this.synchronous !== "FULL" && this.synchronous !== "NORMAL") {
      throw new InvalidArgumentError(
        `synchronous must be "FULL" or "NORMAL", got ${String(this.synchronous)}`,
      );
    }
    validateDuration("busyTimeoutMs", this.busyTimeoutMs, true);
  }

  /** Opens the file, checks it is a Refrain store and applies migrations. Idempotent. */
  async open(): Promise<void> {
    if (this.closed) throw storeClosedError(this.kind, true);
    if (this.db) return;
    // FULL on a plain file: commits are synced off the event loop (see WalSync).
    const walSync =
      this.synchronous === "FULL" && isPlainFile(this.path) ? new WalSync(`${this.path}-wal`) : undefined;
    const synchronous = walSync ? "NORMAL" : this.synchronous;
    const db = openDatabase(this.path, synchronous, this.busyTimeoutMs);
    // A file's checkpoints run on the checkpointer's thread; this connection's are the backstop.
    const totalChanges = db.prepare("SELECT total_changes()").pluck();
    const checkpointer = isPlainFile(this.path)
      ? new Checkpointer(
          { path: this.path, busyTimeoutMs: this.busyTimeoutMs },
          () => totalChanges.get() as number,
        )
      : undefined;
    if (checkpointer) db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.conn = new SqliteConnection(
      db,
      prepareStatements(db),
      this.path,
      synchronous,
      this.notifications,
      walSync,
      checkpointer && (() => checkpointer.committed()),
    );
    this.db = db;
    this.checkpointer = checkpointer;
    this.syncsOffEventLoop = walSync !== undefined;
  }

  /** The connection's effective settings, for diagnostics (`refrain doctor`) and tests. */
  diagnostics(): SqliteDiagnostics {
    this.connection();
    return {
      ...readDiagnostics(this.db!, this.path),
      synchronous: this.synchronous,
      syncsOffEventLoop: this.syncsOffEventLoop,
      checkpointsOffEventLoop: this.checkpointer !== undefined,
      threadCheckpoints: this.checkpointer?.completed ?? 0,
      ...(this.checkpointer?.error === undefined ? {} : { checkpointError: this.checkpointer.error }),
    };
  }

  /** Closes the connection; later calls throw `STORE_CLOSED`. */
  async close(): Promise<void> {
    // Reads asked for before the close are answered from the open store.
    if (this.conn) this.instanceReads.flush();
    this.closed = true;
    this.external.stop();
    const conn = this.conn;
    const checkpointer = this.checkpointer;
    this.conn = undefined;
    this.checkpointer = undefined;
    this.db = undefined;
    // The thread's connection closes first, so that this one, the last, checkpoints the whole log.
    await checkpointer?.close();
    await conn?.close();
    this.notifications.clear();
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
    const budget = new ClaimBudget(options.claim, Date.now());
    const onCommitted = options.onCommitted;
    if (!onCommitted) return this.writeSoon(hub, createBody(hub, instance, options.firstStep, budget));
    // The claimed tasks go to `onCommitted` at the commit; the call settles once durable.
    await this.writeSoon(hub, createBody(hub, instance, options.firstStep, budget), { onCommitted });
    return [];
  }

  /** Adds a message to an existing instance's inbox (or, with `ensureTarget`, creates the row). */
  async appendMessage(hub: string, message: NewMessage, options?: AppendOptions): Promise<void> {
    return this.writeSoon(hub, appendBody(hub, message, options));
  }

  /** The instance row, or undefined. */
  async getInstance(hub: string, instanceId: string): Promise<InstanceRecord | undefined> {
    let row: InstanceRow | undefined;
    if (this.readsJoin) {
      this.connection(); // a closed store refuses at once
      row = await this.instanceReads.read(hub, instanceId);
    } else {
      // The first read of a run of microtasks goes at once; the others of that run join a batch.
      this.readsJoin = true;
      queueMicrotask(() => {
        this.readsJoin = false;
      });
      row = this.query((s) => s.getInstance.get(hub, instanceId) as InstanceRow | undefined);
    }
    return row ? toInstanceRecord(row) : undefined;
  }

  /** The current execution's history ([] for an unknown instance). */
  async getHistory(hub: string, instanceId: string): Promise<HistoryEvent[]> {
    return this.read((s) => {
      const row = s.getInstance.get(hub, instanceId) as InstanceRow | undefined;
      return row ? readHistory(s, row.history_key) : [];
    });
  }

  /** A page of instances ordered by (createdAt, instanceId). */
  async listInstances(hub: string, query: InstanceQuery): Promise<InstancePage> {
    const pageSize = validatePageSize(query.pageSize);
    validateFilter(query);
    const after =
      query.continuationToken === undefined ? undefined : decodeContinuationToken(query.continuationToken);
    return this.query((s) => listPage(s, hub, query, after, pageSize));
  }

  /** Deletes terminal (and, with `idleOnly`, idle) instances selected by IDs or filter; returns the count. */
  async purgeInstances(
    hub: string,
    selector: { instanceIds: string[] } | { filter: InstanceFilter },
    options: PurgeOptions = {},
  ): Promise<number> {
    if ("filter" in selector) validateFilter(selector.filter);
    return this.writeSoon(hub, purgeBody(hub, selector, options));
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

  /**
   * Leases up to `max` eligible instances in one transaction. Leases need no fsync: one lost in a
   * crash only has to expire, and every commit is fenced by its token; so the transaction is
   * written with `synchronous=OFF`, and the next durable commit syncs it along.
   */
  async leaseOrchestrations(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    return this.lease(hub, workerId, names, leaseMs, 0, options);
  }

  /**
   * Leases as `leaseOrchestrations` does, counting messages visible within `aheadMs` as visible;
   * remembers the messages, for `readLeasedMessages`.
   */
  async leaseOrchestrationsAhead(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    validateDuration("aheadMs", aheadMs, false);
    // Read before the lease: a message inserted meanwhile only makes the shortcut refuse.
    const inboxSeq = this.query((s) => inboxSeqOf(s));
    const items = await this.lease(hub, workerId, names, leaseMs, aheadMs, options);
    this.held.remember(
      this.query((s) => heldItems(s, hub, items)),
      inboxSeq,
    );
    return items;
  }

  private async lease(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    validateDuration("leaseMs", leaseMs, false);
    const max = validateBatchSize(options.max);
    // A read first: an empty queue (the common answer of an idle worker) costs no write transaction.
    const kinds = inboxKinds(names);
    const namesJson = JSON.stringify(names);
    const waiting = this.query((s) =>
      nextHeads(s, hub, kinds, namesJson, leaseClock(aheadMs), INBOX_START, 1),
    );
    if (waiting.heads.length === 0) return [];
    return this.writeUnsynced(
      hub,
      leaseBody(hub, workerId, kinds, namesJson, leaseMs, max, options.known, aheadMs),
    );
  }

  /**
   * The messages visible now of each leased instance, in one read; those of a lease ahead come
   * from memory when no message was inserted since (see HeldMessages).
   */
  async readLeasedMessages(hub: string, leases: readonly OrchestrationLease[]): Promise<InboxMessage[][]> {
    return this.query((s) => {
      const now = Date.now();
      const inboxSeq = inboxSeqOf(s);
      return leases.map(
        (lease) =>
          this.held.take(lease.token, inboxSeq, now) ?? visibleMessages(s, hub, lease.instanceId, now),
      );
    });
  }

  /** Commits one orchestration step atomically and releases the lease. */
  async commitOrchestration(lease: OrchestrationLease, checkpoint: Checkpoint): Promise<void> {
    throwIfRefused(await this.commitOrchestrations(lease.hub, [{ lease, checkpoint }]));
  }

  /**
   * Commits several steps in one transaction (one fsync); a lost lease refuses only its own step.
   * New activity tasks that `claim` allows are leased to the claiming worker in the same transaction.
   */
  async commitOrchestrations(
    hub: string,
    commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
    claim?: ActivityClaim,
  ): Promise<CommitOutcome[]> {
    return this.writeSoon(hub, commitBody(hub, commits, new ClaimBudget(claim, Date.now())), EARLY);
  }

  /** Extends a held orchestration lease by `leaseMs` from now. */
  async renewOrchestrationLease(lease: OrchestrationLease, leaseMs: number): Promise<OrchestrationLease> {
    validateDuration("leaseMs", leaseMs, false);
    return this.writeUnsynced(lease.hub, renewOrchestrationBody(lease, leaseMs));
  }

  /** Releases a held orchestration lease; its visible messages reappear after `delayMs`. */
  async abandonOrchestration(lease: OrchestrationLease, delayMs = 0): Promise<void> {
    validateDuration("delayMs", delayMs, true);
    this.held.forget(lease.token);
    this.writeUnsynced(lease.hub, abandonOrchestrationBody(lease, delayMs));
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

  /** Leases up to `max` visible activity tasks in one transaction (not synced, like orchestration leases). */
  async leaseActivities(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    max: number,
  ): Promise<ActivityWorkItem[]> {
    validateDuration("leaseMs", leaseMs, false);
    validateBatchSize(max);
    const namesJson = JSON.stringify(names);
    const probe = Date.now();
    if (this.query((s) => s.nextTask.all(hub, probe, probe, namesJson, 1)).length === 0) return [];
    return this.writeUnsynced(hub, leaseTasksBody(hub, workerId, namesJson, leaseMs, max));
  }

  /** Deletes the task and queues its result for the instance, atomically. */
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
    return this.writeSoon(hub, completeBody(hub, completions, new ClaimBudget(claim, Date.now())), EARLY);
  }

  /** Extends a held activity lease by `leaseMs` from now. */
  async renewActivityLease(lease: ActivityLease, leaseMs: number): Promise<ActivityLease> {
    validateDuration("leaseMs", leaseMs, false);
    return this.writeUnsynced(lease.hub, renewActivityBody(lease, leaseMs));
  }

  /** Releases a held activity lease; the task is redelivered after `delayMs`. */
  async abandonActivity(lease: ActivityLease, delayMs = 0): Promise<void> {
    validateDuration("delayMs", delayMs, true);
    this.writeUnsynced(lease.hub, abandonActivityBody(lease, delayMs));
  }

  /** The earliest visibleAt among matching inbox messages and activity tasks, leased or not. */
  async nextWakeUp(
    hub: string,
    orchestratorNames: readonly string[],
    activityNames: readonly string[],
  ): Promise<number | undefined> {
    return this.query((s) => nextWakeUpOf(s, hub, orchestratorNames, activityNames));
  }

  /** Counts the due messages and tasks and finds the oldest of each (one read each). */
  async queueStats(hub: string, now: number): Promise<QueueStats> {
    return this.query((s) => queueStatsOf(s, hub, now));
  }

  /**
   * Registers a listener for the hub; returns the unsubscribe function. Changes made through this
   * store are reported as they commit; commits by other connections to the file (another process,
   * the CLI) as `external-change`, noticed within about 100 ms while anyone listens.
   */
  subscribe(hub: string, listener: (notification: StoreNotification) => void): () => void {
    this.connection();
    const unsubscribe = this.notifications.subscribe(hub, listener);
    this.external.start();
    return () => {
      unsubscribe();
      if (!this.notifications.active) this.external.stop();
    };
  }

  private connection(): SqliteConnection {
    if (!this.conn) throw storeClosedError(this.kind, this.closed);
    return this.conn;
  }

  /** Single statements, outside a transaction. */
  private query<T>(fn: (s: Statements) => T): T {
    return this.connection().query(fn);
  }

  /** A consistent multi-statement read. */
  private read<T>(fn: (s: Statements) => T): T {
    return this.connection().read(fn);
  }

  /**
   * An unsynced write transaction now. Leases, renewals and releases need no sync: a crash may
   * lose one, and it then just expires, as every commit is fenced by its lease's token; the next
   * durable commit syncs them along.
   */
  private writeUnsynced<T>(hub: string, fn: WriteBody<T>): T {
    return this.connection().writeUnsynced(hub, fn);
  }

  /** A durable write in this turn's group commit (settled `early` for the engine's steps). */
  private writeSoon<T>(
    hub: string,
    fn: WriteBody<T>,
    options?: { early?: boolean; onCommitted?: (value: T) => void },
  ): Promise<T> {
    return this.connection().writeSoon(hub, fn, options);
  }
}
