/**
 * The bodies of the SQLite store's batch writes, each run inside one transaction by the store:
 * creating an instance (possibly with its first step), leasing orchestrations, committing
 * checkpoints and completing activity tasks (possibly with the steps that follow them). Items of a
 * batch whose lease was lost are refused on their own; claimed tasks come back in the outcomes.
 */
import { randomUUID } from "node:crypto";
import { InstanceAlreadyExistsError, LeaseLostError } from "../../core/errors.js";
import type { RuntimeStatus } from "../../core/events.js";
import { type ClaimBudget, committedWith, isActiveStatus } from "../common.js";
import { toActivityTask } from "../rows.js";
import type {
  ActivityCompletion,
  ActivityWorkItem,
  Checkpoint,
  CommitOutcome,
  LeaseOptions,
  NewInstance,
  OrchestrationLease,
  OrchestrationWorkItem,
} from "../store.js";
import type { WriteBody } from "./connection.js";
import {
  applyCheckpoint,
  followingStepApplies,
  insertInstance,
  insertMessage,
  leaseInstance,
  refusedIfLost,
  takeTask,
  writeCheckpoint,
} from "./operations.js";
import type { InboxKind, InstanceState, Statements, TaskRow } from "./statements.js";

/**
 * Creates `instance` (replacing a terminal one; `InstanceAlreadyExistsError` for an active one)
 * with its start message queued, or with `firstStep` committed instead; returns claimed tasks.
 */
export function createBody(
  hub: string,
  instance: NewInstance,
  firstStep: Checkpoint | undefined,
  budget: ClaimBudget,
): WriteBody<ActivityWorkItem[]> {
  return (s, batch) => {
    const row = s.instanceState.get(hub, instance.instanceId) as InstanceState | undefined;
    if (row && isActiveStatus(row.runtime_status as RuntimeStatus)) {
      throw new InstanceAlreadyExistsError(instance.instanceId, row.runtime_status);
    }
    const historyKey = insertInstance(s, hub, instance, batch, row !== undefined, firstStep === undefined);
    if (!firstStep) return [];
    // The row just inserted: Pending, with no lease.
    const created: InstanceState = {
      instance_id: instance.instanceId,
      execution_id: instance.executionId,
      runtime_status: "Pending",
      lease_token: null,
      lease_expires_at: null,
      history_key: historyKey,
    };
    return writeCheckpoint(s, hub, created, { ...firstStep, consumedMessageIds: [] }, batch, budget, 0);
  };
}

/** An eligible inbox message of `kinds` after a (visibleAt, id) cursor, as `nextOrchestrations` reads it. */
export interface InboxHead {
  instanceId: string;
  visibleAt: number;
  id: number;
  hasRow: number;
}

/** A (visibleAt, id) position in the inbox's order. */
type InboxCursor = Pick<InboxHead, "visibleAt" | "id">;

/** Where a walk of the inbox starts: before every message. */
export const INBOX_START: InboxCursor = { visibleAt: Number.MIN_SAFE_INTEGER, id: Number.MIN_SAFE_INTEGER };

const before = (a: InboxCursor, b: InboxCursor): boolean =>
  a.visibleAt < b.visibleAt || (a.visibleAt === b.visibleAt && a.id < b.id);

/**
 * The next eligible messages visible by `visibleBy` of the given kinds after `after`, oldest
 * first, for instances without a lease live at `now`: up to `limit` of each kind, merged, and cut
 * where one kind's share ended (messages of that kind past it were not read). `complete` says that
 * no eligible message follows the last one returned.
 */
export function nextHeads(
  s: Statements,
  hub: string,
  kinds: readonly InboxKind[],
  namesJson: string,
  { now, visibleBy }: LeaseClock,
  after: InboxCursor,
  limit: number,
): { heads: InboxHead[]; complete: boolean } {
  let heads: InboxHead[] = [];
  let bound: InboxCursor | undefined;
  for (const kind of kinds) {
    const rows = s.nextOrchestrations.all(
      hub,
      kind,
      visibleBy,
      after.visibleAt,
      after.id,
      namesJson,
      now,
      limit,
    ) as InboxHead[];
    const last = rows[rows.length - 1];
    if (rows.length === limit && last && (!bound || before(last, bound))) bound = last;
    heads = heads.length === 0 ? rows : heads.concat(rows);
  }
  if (kinds.length > 1) heads.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  if (bound) {
    const cut = bound;
    heads = heads.filter((h) => !before(cut, h));
  }
  return { heads, complete: bound === undefined };
}

/**
 * The times a lease goes by: leases are live or not at `now`; messages count as visible by
 * `visibleBy` (later than `now` when leasing ahead, see `Store.leaseOrchestrationsAhead`).
 */
export interface LeaseClock {
  now: number;
  visibleBy: number;
}

/** The clock of a lease now, looking `aheadMs` ahead (0: messages visible now). */
export function leaseClock(aheadMs: number): LeaseClock {
  const now = Date.now();
  return { now, visibleBy: now + aheadMs };
}

/**
 * Leases up to `max` eligible instances, oldest visible message first (visible by now plus
 * `aheadMs`), deleting the messages of instances that have no row on the way. The walk goes forward through the inbox a slice of rows
 * at a time; the rows of a slice were read before its leases, so an instance met again in it
 * (a second message) is passed over here rather than by the query.
 */
export function leaseBody(
  hub: string,
  workerId: string,
  kinds: readonly InboxKind[],
  namesJson: string,
  leaseMs: number,
  max: number,
  known: LeaseOptions["known"],
  aheadMs: number,
): WriteBody<OrchestrationWorkItem[]> {
  return (s) => {
    const clock = leaseClock(aheadMs);
    const items: OrchestrationWorkItem[] = [];
    const met = new Set<string>();
    let after: InboxCursor = INBOX_START;
    while (items.length < max) {
      const { heads, complete } = nextHeads(
        s,
        hub,
        kinds,
        namesJson,
        clock,
        after,
        max - items.length + HEAD_SLACK,
      );
      for (const head of heads) {
        after = head;
        if (met.has(head.instanceId)) continue;
        met.add(head.instanceId);
        if (!head.hasRow) {
          s.deleteInbox.run(hub, head.instanceId);
          continue;
        }
        items.push(
          leaseInstance(s, hub, head.instanceId, workerId, clock.now + leaseMs, clock.visibleBy, known),
        );
        if (items.length === max) break;
      }
      if (complete || heads.length === 0) break;
    }
    return items;
  };
}

/** Rows read beyond the instances still wanted, for instances met twice in one slice. */
const HEAD_SLACK = 8;

/** Leases up to `max` visible activity tasks with a name in `namesJson`, oldest first. */
export function leaseTasksBody(
  hub: string,
  workerId: string,
  namesJson: string,
  leaseMs: number,
  max: number,
): WriteBody<ActivityWorkItem[]> {
  return (s) => {
    const now = Date.now();
    const rows = s.nextTask.all(hub, now, now, namesJson, max) as TaskRow[];
    return rows.map((row) => {
      const token = randomUUID();
      const expiresAt = now + leaseMs;
      s.leaseTask.run(workerId, token, expiresAt, hub, row.id);
      return {
        lease: { hub, taskId: String(row.id), workerId, token, expiresAt },
        task: toActivityTask({ ...row, delivery_count: row.delivery_count + 1 }),
      };
    });
  };
}

/** Commits each checkpoint fenced by its lease; a lost lease refuses only its own. */
export function commitBody(
  hub: string,
  commits: readonly { lease: OrchestrationLease; checkpoint: Checkpoint }[],
  budget: ClaimBudget,
): WriteBody<CommitOutcome[]> {
  return (s, batch) =>
    commits.map(({ lease, checkpoint }) =>
      refusedIfLost(() => {
        if (lease.hub !== hub) throw new LeaseLostError(`orchestration instance '${lease.instanceId}'`);
        return committedWith(applyCheckpoint(s, lease, checkpoint, batch, budget));
      }),
    );
}

/**
 * Completes each task fenced by its lease: its following step commits in the result's place when
 * the instance is as the step assumed, else the result is queued.
 */
export function completeBody(
  hub: string,
  completions: readonly ActivityCompletion[],
  budget: ClaimBudget,
): WriteBody<CommitOutcome[]> {
  return (s, batch) => {
    const now = Date.now();
    return completions.map(({ lease, result, next }) =>
      refusedIfLost(() => {
        if (lease.hub !== hub) throw new LeaseLostError(`activity task '${lease.taskId}'`);
        const task = takeTask(s, lease);
        const row = next && followingStepApplies(s, hub, task.instance_id, next, now);
        if (next && row) {
          const claimed = writeCheckpoint(s, hub, row, next.checkpoint, batch, budget, next.historyLength);
          return committedWith(claimed, true);
        }
        const message = {
          instanceId: task.instance_id,
          executionId: task.execution_id,
          event: result,
          visibleAt: now,
        };
        insertMessage(s, hub, message, batch);
        return committedWith([], next ? false : undefined);
      }),
    );
  };
}
