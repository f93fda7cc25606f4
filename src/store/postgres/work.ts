/**
 * The work-item calls of the PostgreSQL store: leasing orchestrations, now or ahead of their due
 * time (then reading, in one more query, only the histories the caller does not hold), reading
 * held instances' messages again, committing many checkpoints in one transaction, leasing and
 * completing many activity tasks, and renewing and releasing single leases. Most are one call of
 * a schema function (functions.ts); a retry after a lost connection follows the store's rules
 * (postgres-store.ts).
 */
import type pg from "pg";
import { LeaseLostError } from "../../core/errors.js";
import type { HistoryEvent } from "../../core/events.js";
import { ClaimBudget, committedWith, entityNamesOnly } from "../common.js";
import {
  type InboxColumns,
  type TaskColumns,
  toActivityTask,
  toInboxMessage,
  toInstanceRecord,
} from "../rows.js";
import type {
  ActivityClaim,
  ActivityCompletion,
  ActivityLease,
  ActivityWorkItem,
  Checkpoint,
  CommitOutcome,
  FollowingStep,
  InboxMessage,
  LeaseOptions,
  OrchestrationLease,
  OrchestrationWorkItem,
  StoreNotification,
} from "../store.js";
import {
  checkpointJson,
  type InstanceRow,
  ms,
  parseId,
  type Statements,
  toNotifications,
} from "./operations.js";

/** A following step as `refrain_complete_activities` reads it. */
function stepJson(next: FollowingStep | undefined): object | undefined {
  if (next === undefined) return undefined;
  return {
    executionId: next.executionId,
    runtimeStatus: next.runtimeStatus,
    historyLength: next.historyLength,
    checkpoint: checkpointJson(next.checkpoint),
  };
}

/** Runs one call with the store's retries (`PostgresStore.run`). */
export type RunCall = <T>(
  operation: string,
  subject: string | undefined,
  fn: (db: pg.Pool, attempt: number) => Promise<T>,
) => Promise<T>;

/** What the work calls need from their store. */
export interface WorkBinding {
  run: RunCall;
  /** The quoted schema identifier. */
  schema: string;
  /** The store's statements on that schema. */
  sql: Statements;
  /** Identifies this store's notifications. */
  origin: string;
  /** Delivers notifications to this process's listeners. */
  emit: (hub: string, notifications: StoreNotification[]) => void;
  /** Counts rows written (for the planner-statistics warm-up). */
  wrote: (rows: number) => void;
}

/** One leased instance as `refrain_lease_orchestrations` returns it. */
interface LeasedRow {
  token: string;
  instance: InstanceRow;
  historyLength: number;
  messages: InboxColumns[];
}

/**
 * A batch call's result: the indexes (among the items sent) of those whose lease was lost, of
 * completions whose following step committed, the tasks each item claimed, and the notes to emit.
 */
interface BatchResult {
  lost: number[];
  stepped?: number[];
  claimed: Record<string, TaskRow[]>;
  notes: unknown;
}

/** A claimed `activity_tasks` row, as `to_jsonb` gives it. */
export type TaskRow = TaskColumns & { lease_worker: string; lease_token: string; lease_expires_at: number };

/** The work items of claimed task rows (none for undefined). */
export function claimedWorkItems(hub: string, rows: readonly TaskRow[] | undefined): ActivityWorkItem[] {
  return (rows ?? []).map((row): ActivityWorkItem => {
    const task = toActivityTask(row);
    const lease = {
      hub,
      taskId: task.id,
      workerId: row.lease_worker,
      token: row.lease_token,
      expiresAt: Number(row.lease_expires_at),
    };
    return { lease, task };
  });
}

/** An `ActivityClaim` as the schema's functions read it (validated; null for none). */
export function claimJson(claim: ActivityClaim | undefined, now: number): string | null {
  if (claim === undefined) return null;
  const budget = new ClaimBudget(claim, now); // validates
  return JSON.stringify({
    worker: claim.workerId,
    names: claim.names,
    expires: ms(budget.expiresAt),
    max: claim.max,
  });
}

/**
 * The outcomes of a batch of `count` items of which `sent` (indexes into the batch, in the order
 * sent) went to the database: refused where the lease was lost (or the item was never sent),
 * else committed with what it claimed and, for completions, whether its step committed.
 */
function outcomes(
  hub: string,
  count: number,
  sent: readonly number[],
  result: BatchResult,
  error: (i: number) => LeaseLostError,
  withSteps: (i: number) => boolean,
): CommitOutcome[] {
  const out: (CommitOutcome | undefined)[] = new Array(count);
  const lost = new Set(result.lost);
  const stepped = new Set(result.stepped ?? []);
  sent.forEach((i, k) => {
    if (lost.has(k)) return;
    out[i] = committedWith(
      claimedWorkItems(hub, result.claimed[String(k)]),
      withSteps(i) ? stepped.has(k) : undefined,
    );
  });
  // Errors only for the refused: each one captures a stack trace, which costs more than a commit's
  // whole bookkeeping (10,000 per W1 run when they were made for every item up front).
  return Array.from(out, (outcome, i) => outcome ?? { committed: false as const, error: error(i) });
}

/** The batched work calls over one store's pool. */
export class PostgresWork {
  constructor(private readonly b: WorkBinding) {}

  /** Leases up to `options.max` instances; reads the histories `options.known` does not cover. */
  async leaseOrchestrations(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    aheadMs: number,
    options: LeaseOptions,
  ): Promise<OrchestrationWorkItem[]> {
    const s = this.b.schema;
    return this.b.run("leaseOrchestrations", undefined, async (db) => {
      const now = Date.now();
      const expiresAt = ms(now + leaseMs);
      const entities = entityNamesOnly(names) ?? null;
      const params = [hub, workerId, [...names], entities, now, now + aheadMs, expiresAt, options.max];
      const { rows } = await db.query<{ items: LeasedRow[] | null }>(
        `SELECT ${s}.refrain_lease_orchestrations($1, $2, $3::text[], $4::boolean, $5, $6, $7, $8) AS items`,
        params,
      );
      const leased = rows[0]?.items ?? [];
      const items = leased.map((row): OrchestrationWorkItem & { length: number } => {
        const instance = toInstanceRecord(row.instance);
        const k = options.known?.(instance.instanceId);
        const omit =
          k !== undefined && k.executionId === instance.executionId && k.length === row.historyLength;
        return {
          lease: { hub, instanceId: instance.instanceId, workerId, token: row.token, expiresAt },
          instance,
          history: [],
          ...(omit ? { historyOmitted: true } : {}),
          messages: row.messages.map(toInboxMessage),
          length: row.historyLength,
        };
      });
      await this.readHistories(
        db,
        hub,
        items.filter((it) => !it.historyOmitted && it.length > 0),
      );
      return items.map(({ length: _length, ...item }) => item);
    });
  }

  /** The messages visible now of each leased instance, in one query. */
  async readLeasedMessages(hub: string, leases: readonly OrchestrationLease[]): Promise<InboxMessage[][]> {
    if (leases.length === 0) return [];
    return this.b.run("readLeasedMessages", undefined, async (db) => {
      const { rows } = await db.query<InboxColumns & { position: string }>(
        `SELECT m.*, w.position FROM ${this.b.schema}.inbox m
           JOIN unnest($2::text[]) WITH ORDINALITY AS w(id, position) ON m.instance_id = w.id
         WHERE m.hub = $1 AND m.visible_at <= $3 ORDER BY w.position, m.visible_at, m.id`,
        [hub, leases.map((lease) => lease.instanceId), Date.now()],
      );
      const out: InboxMessage[][] = leases.map(() => []);
      for (const row of rows) out[Number(row.position) - 1]!.push(toInboxMessage(row));
      return out;
    });
  }

  /** Fills in the histories of `items` with one query (the leases keep them from changing meanwhile). */
  private async readHistories(db: pg.Pool, hub: string, items: OrchestrationWorkItem[]): Promise<void> {
    if (items.length === 0) return;
    const byId = new Map(items.map((it) => [it.instance.instanceId, it]));
    const { rows } = await db.query<{ instance_id: string; event: string }>(
      `SELECT h.instance_id, h.event FROM ${this.b.schema}.history h
         JOIN unnest($2::text[], $3::text[]) AS w(id, exec) ON h.instance_id = w.id AND h.execution_id = w.exec
       WHERE h.hub = $1 ORDER BY h.instance_id, h.seq`,
      [hub, items.map((it) => it.instance.instanceId), items.map((it) => it.instance.executionId)],
    );
    for (const row of rows) byId.get(row.instance_id)?.history.push(JSON.parse(row.event) as HistoryEvent);
  }

  /** Commits several checkpoints in one transaction (in instance-ID order, to avoid deadlocks). */
  async commitOrchestrations(
    hub: string,
    commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
    claim: ActivityClaim | undefined,
  ): Promise<CommitOutcome[]> {
    const order = commits.map((_, i) => i);
    order.sort((a, b) => (commits[a]!.lease.instanceId < commits[b]!.lease.instanceId ? -1 : 1));
    const foreign = new Set(order.filter((i) => commits[i]!.lease.hub !== hub));
    const sent = order.filter((i) => !foreign.has(i));
    const body = JSON.stringify(
      sent.map((i) => ({
        instanceId: commits[i]!.lease.instanceId,
        token: commits[i]!.lease.token,
        checkpoint: checkpointJson(commits[i]!.checkpoint),
      })),
    );
    const claimed = claimJson(claim, Date.now());
    const result = await this.b.run("commitOrchestrations", undefined, async (db) => {
      const { rows } = await db.query<{ result: BatchResult }>(
        `SELECT ${this.b.schema}.refrain_commit_orchestrations($1, $2::jsonb, $3, $4, $5::jsonb) AS result`,
        [hub, body, Date.now(), this.b.origin, claimed],
      );
      return rows[0]!.result;
    });
    this.b.emit(hub, toNotifications(result.notes));
    this.b.wrote(commits.length);
    return outcomes(
      hub,
      commits.length,
      sent,
      result,
      (i) => new LeaseLostError(`orchestration instance '${commits[i]!.lease.instanceId}'`),
      () => false,
    );
  }

  /** Leases up to `max` activity tasks. */
  async leaseActivities(
    hub: string,
    workerId: string,
    names: readonly string[],
    leaseMs: number,
    max: number,
  ): Promise<ActivityWorkItem[]> {
    return this.b.run("leaseActivities", undefined, async (db) => {
      const now = Date.now();
      const expiresAt = ms(now + leaseMs);
      const { rows } = await db.query(
        `SELECT * FROM ${this.b.schema}.refrain_lease_activities($1, $2, $3::text[], $4, $5, $6) ORDER BY visible_at, id`,
        [hub, workerId, [...names], now, expiresAt, max],
      );
      return rows.map((row) => {
        const task = toActivityTask(row);
        return { lease: { hub, taskId: task.id, workerId, token: String(row.lease_token), expiresAt }, task };
      });
    });
  }

  /** Completes several activity tasks in one transaction. */
  async completeActivities(
    hub: string,
    completions: readonly ActivityCompletion[],
    claim: ActivityClaim | undefined,
  ): Promise<CommitOutcome[]> {
    const invalid = completions.flatMap((c, i) =>
      parseId(c.lease.taskId) === undefined || c.lease.hub !== hub ? [i] : [],
    );
    const sent = completions.map((_, i) => i).filter((i) => !invalid.includes(i));
    const body = JSON.stringify(
      sent.map((i) => ({
        id: completions[i]!.lease.taskId,
        token: completions[i]!.lease.token,
        event: JSON.stringify(completions[i]!.result),
        step: stepJson(completions[i]!.next),
      })),
    );
    const claimed = claimJson(claim, Date.now());
    const result = await this.b.run("completeActivities", undefined, async (db) => {
      const { rows } = await db.query<{ result: BatchResult }>(
        `SELECT ${this.b.schema}.refrain_complete_activities($1, $2::jsonb, $3, $4, $5::jsonb) AS result`,
        [hub, body, Date.now(), this.b.origin, claimed],
      );
      return rows[0]!.result;
    });
    this.b.emit(hub, toNotifications(result.notes));
    this.b.wrote(completions.length);
    return outcomes(
      hub,
      completions.length,
      sent,
      result,
      (i) => new LeaseLostError(`activity task '${completions[i]!.lease.taskId}'`),
      (i) => completions[i]!.next !== undefined,
    );
  }

  /** Extends a held orchestration lease by `leaseMs` from now; `LeaseLostError` when it is not held. */
  async renewOrchestrationLease(lease: OrchestrationLease, leaseMs: number): Promise<OrchestrationLease> {
    return this.b.run("renewOrchestrationLease", undefined, async (db) => {
      const expiresAt = ms(Date.now() + leaseMs);
      const params = [lease.hub, lease.instanceId, lease.token, expiresAt];
      const { rowCount } = await db.query(this.b.sql.renewOrchestration, params);
      if (rowCount !== 1) throw new LeaseLostError(`orchestration instance '${lease.instanceId}'`);
      return { ...lease, expiresAt };
    });
  }

  /** Releases a held orchestration lease; its visible messages reappear after `delayMs`. */
  async abandonOrchestration(lease: OrchestrationLease, delayMs: number): Promise<void> {
    const notes = await this.b.run("abandonOrchestration", undefined, async (db) => {
      const now = Date.now();
      const params = [
        lease.hub,
        lease.instanceId,
        lease.token,
        delayMs > 0,
        ms(now + delayMs),
        now,
        this.b.origin,
      ];
      return (await db.query(this.b.sql.abandonOrchestration, params)).rows[0]?.notes;
    });
    this.b.emit(lease.hub, toNotifications(notes));
  }

  /** Extends a held activity lease by `leaseMs` from now; `LeaseLostError` when it is not held. */
  async renewActivityLease(lease: ActivityLease, leaseMs: number): Promise<ActivityLease> {
    return this.b.run("renewActivityLease", undefined, async (db) => {
      const expiresAt = ms(Date.now() + leaseMs);
      const id = parseId(lease.taskId);
      const params = [lease.hub, id, lease.token, expiresAt];
      const changed = id === undefined ? 0 : (await db.query(this.b.sql.renewActivity, params)).rowCount;
      if (changed !== 1) throw new LeaseLostError(`activity task '${lease.taskId}'`);
      return { ...lease, expiresAt };
    });
  }

  /** Releases a held activity lease; the task is redelivered after `delayMs`. */
  async abandonActivity(lease: ActivityLease, delayMs: number): Promise<void> {
    const notes = await this.b.run("abandonActivity", undefined, async (db) => {
      const id = parseId(lease.taskId);
      if (id === undefined) return undefined;
      const params = [lease.hub, id, lease.token, ms(Date.now() + delayMs), this.b.origin];
      return (await db.query(this.b.sql.abandonActivity, params)).rows[0]?.notes;
    });
    this.b.emit(lease.hub, toNotifications(notes));
  }
}
