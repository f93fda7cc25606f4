/**
 * The bodies of the SQLite store's batch writes, each run inside one transaction by the store:
 * creating an instance (possibly with its first step), leasing orchestrations, committing
 * checkpoints and completing activity tasks (possibly with the steps that follow them). Items of a
 * batch whose lease was lost are refused on their own; claimed tasks come back in the outcomes.
 */
import { InstanceAlreadyExistsError, LeaseLostError } from "../../core/errors.js";
import type { RuntimeStatus } from "../../core/events.js";
import { type ClaimBudget, committedWith, isActiveStatus } from "../common.js";
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
import type { InboxKind, InstanceState, Statements } from "./statements.js";

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

/** The first eligible inbox message of `kinds` after a (visibleAt, id) cursor, as `nextOrchestration` reads it. */
export interface InboxHead {
  instanceId: string;
  visibleAt: number;
  id: number;
  hasRow: number;
}

/** Where a walk of the inbox starts: before every message. */
export const INBOX_START = { visibleAt: Number.MIN_SAFE_INTEGER, id: Number.MIN_SAFE_INTEGER };

/**
 * The oldest eligible visible message of the given kinds after `after` (the older head when both
 * kinds are asked for), or undefined.
 */
export function nextHead(
  s: Statements,
  hub: string,
  kinds: readonly InboxKind[],
  namesJson: string,
  now: number,
  after: { visibleAt: number; id: number },
): InboxHead | undefined {
  let best: InboxHead | undefined;
  for (const kind of kinds) {
    const head = s.nextOrchestration.get(hub, kind, now, after.visibleAt, after.id, namesJson, now) as
      | InboxHead
      | undefined;
    if (
      head &&
      (!best || head.visibleAt < best.visibleAt || (head.visibleAt === best.visibleAt && head.id < best.id))
    )
      best = head;
  }
  return best;
}

/**
 * Leases up to `max` eligible instances, oldest visible message first, deleting the messages of
 * instances that have no row on the way. The walk goes forward through the inbox: what it passed
 * is leased or not eligible within this transaction.
 */
export function leaseBody(
  hub: string,
  workerId: string,
  kinds: readonly InboxKind[],
  namesJson: string,
  leaseMs: number,
  max: number,
  known: LeaseOptions["known"],
): WriteBody<OrchestrationWorkItem[]> {
  return (s) => {
    const now = Date.now();
    const items: OrchestrationWorkItem[] = [];
    let after = INBOX_START;
    while (items.length < max) {
      const next = nextHead(s, hub, kinds, namesJson, now, after);
      if (!next) break;
      after = next;
      if (!next.hasRow) {
        s.deleteInbox.run(hub, next.instanceId);
        continue;
      }
      items.push(leaseInstance(s, hub, next.instanceId, workerId, now + leaseMs, now, known));
    }
    return items;
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
        const message = { instanceId: task.instance_id, executionId: task.execution_id, event: result };
        insertMessage(s, hub, { ...message, visibleAt: now }, batch);
        return committedWith([], next ? false : undefined);
      }),
    );
  };
}
