/**
 * The SQLite store's reads that take more than one statement (a page of the instance list, the
 * next wake-up time, the queue statistics) and the body of a purge (which instances it may
 * delete, then deleting them).
 */
import type { RuntimeStatus } from "../../core/events.js";
import { isTerminalStatus } from "../../core/events.js";
import { instancePage, type PageCursor, toQueueStats } from "../common.js";
import { toInstanceRecord } from "../rows.js";
import type { InstanceFilter, InstancePage, InstanceQuery, PurgeOptions, QueueStats } from "../store.js";
import type { WriteBody } from "./connection.js";
import { deleteInstance, filterParams } from "./operations.js";
import { type InstanceRow, type InstanceState, inboxKinds, type Statements } from "./statements.js";

/** Up to `pageSize` instances matching `query` after the cursor `after`, with the next page's token. */
export function listPage(
  s: Statements,
  hub: string,
  query: InstanceQuery,
  after: PageCursor | undefined,
  pageSize: number,
): InstancePage {
  const rows = s.listInstances.all({
    ...filterParams(hub, query),
    afterCreated: after ? after.createdAt : null,
    afterId: after ? after.instanceId : null,
    limit: pageSize + 1,
  }) as InstanceRow[];
  return instancePage(rows.map(toInstanceRecord), pageSize);
}

/** Deletes terminal (and, with `idleOnly`, idle) instances selected by IDs or filter; returns the count. */
export function purgeBody(
  hub: string,
  selector: { instanceIds: string[] } | { filter: InstanceFilter },
  options: PurgeOptions,
): WriteBody<number> {
  return (s) => {
    let ids: string[];
    if ("instanceIds" in selector) {
      ids = [...new Set(selector.instanceIds)].filter((id) => {
        const row = s.instanceState.get(hub, id) as InstanceState | undefined;
        return row !== undefined && isTerminalStatus(row.runtime_status as RuntimeStatus);
      });
    } else {
      ids = (s.purgeCandidates.all(filterParams(hub, selector.filter)) as { instance_id: string }[]).map(
        (r) => r.instance_id,
      );
    }
    if (options.idleOnly) {
      const now = Date.now();
      ids = ids.filter((id) => {
        const row = s.instanceState.get(hub, id) as InstanceState;
        const leased = row.lease_token !== null && Number(row.lease_expires_at) > now;
        return !leased && !s.hasMessages.get(hub, id);
      });
    }
    for (const id of ids) deleteInstance(s, hub, id);
    return ids.length;
  };
}

/**
 * The earliest visibleAt among the inbox messages of instances named `orchestratorNames` and the
 * tasks named `activityNames`, leaving out work held by a lease that outlasts it.
 */
export function nextWakeUpOf(
  s: Statements,
  hub: string,
  orchestratorNames: readonly string[],
  activityNames: readonly string[],
): number | undefined {
  const names = JSON.stringify(orchestratorNames);
  const times: number[] = [];
  for (const kind of orchestratorNames.length > 0 ? inboxKinds(orchestratorNames) : []) {
    const row = s.nextMessageTime.get(hub, kind, names) as { t: number } | undefined;
    if (row) times.push(row.t);
  }
  const task = s.nextTaskTime.get(hub, JSON.stringify(activityNames)) as { t: number } | undefined;
  if (task) times.push(task.t);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** A count and the oldest visible time of due work. */
interface DueRow {
  n: number;
  oldest: number | null;
}

/** Counts the due messages and tasks and finds the oldest of each (one read each). */
export function queueStatsOf(s: Statements, hub: string, now: number): QueueStats {
  const m = s.dueMessages.get(hub, now) as DueRow;
  const t = s.dueTasks.get(hub, now) as DueRow;
  return toQueueStats(m.n, m.oldest, t.n, t.oldest);
}
