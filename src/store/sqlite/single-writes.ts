/**
 * The bodies of the SQLite store's single-item writes, each run inside one transaction by the
 * store: adding a message to an inbox (with its checks and an optional status transition), and
 * renewing and releasing the lease of an orchestration instance or an activity task.
 */
import { InstanceNotFoundError, InstanceNotRunningError, LeaseLostError } from "../../core/errors.js";
import { isTerminalStatus, type RuntimeStatus } from "../../core/events.js";
import { transitionMismatch } from "../common.js";
import type { ActivityLease, AppendOptions, NewMessage, OrchestrationLease } from "../store.js";
import type { WriteBody } from "./connection.js";
import { insertMessage, parseId } from "./operations.js";
import type { InstanceState } from "./statements.js";

/**
 * Adds `message` to its instance's inbox: `InstanceNotFoundError` without a row (unless the
 * message creates it), `InstanceNotRunningError` for an ended instance with `onlyIfActive`, and
 * with `transition`, the status changes in the same transaction (or the call fails).
 */
export function appendBody(hub: string, message: NewMessage, options?: AppendOptions): WriteBody<void> {
  return (s, batch) => {
    const row = s.instanceState.get(hub, message.instanceId) as InstanceState | undefined;
    if (!row && !message.ensureTarget) throw new InstanceNotFoundError(message.instanceId);
    if (!row) {
      insertMessage(s, hub, message, batch);
      return;
    }
    if (options?.onlyIfActive && isTerminalStatus(row.runtime_status as RuntimeStatus)) {
      throw new InstanceNotRunningError(message.instanceId, row.runtime_status);
    }
    const transition = options?.transition;
    if (transition) {
      if (row.runtime_status !== transition.from) {
        throw transitionMismatch(message.instanceId, row.runtime_status, transition.from);
      }
      s.setStatus.run(transition.to, Date.now(), hub, message.instanceId);
      batch.instanceUpdated(message.instanceId, transition.to);
    }
    insertMessage(s, hub, message, batch);
  };
}

/** Extends a held orchestration lease by `leaseMs` from now; `LeaseLostError` when it is not held. */
export function renewOrchestrationBody(
  lease: OrchestrationLease,
  leaseMs: number,
): WriteBody<OrchestrationLease> {
  return (s) => {
    const expiresAt = Date.now() + leaseMs;
    const changed = s.renewLease.run(expiresAt, lease.hub, lease.instanceId, lease.token).changes;
    if (changed !== 1) throw new LeaseLostError(`orchestration instance '${lease.instanceId}'`);
    return { ...lease, expiresAt };
  };
}

/** Releases a held orchestration lease; its visible messages reappear after `delayMs`. */
export function abandonOrchestrationBody(lease: OrchestrationLease, delayMs: number): WriteBody<void> {
  return (s, batch) => {
    const changed = s.clearLease.run(lease.hub, lease.instanceId, lease.token).changes;
    if (changed !== 1) return;
    const now = Date.now();
    if (delayMs > 0) s.delayMessages.run(now + delayMs, lease.hub, lease.instanceId, now);
    batch.orchestrationWork(lease.instanceId);
  };
}

/** Extends a held activity lease by `leaseMs` from now; `LeaseLostError` when it is not held. */
export function renewActivityBody(lease: ActivityLease, leaseMs: number): WriteBody<ActivityLease> {
  return (s) => {
    const expiresAt = Date.now() + leaseMs;
    const id = parseId(lease.taskId);
    const changed = id === undefined ? 0 : s.renewTask.run(expiresAt, lease.hub, id, lease.token).changes;
    if (changed !== 1) throw new LeaseLostError(`activity task '${lease.taskId}'`);
    return { ...lease, expiresAt };
  };
}

/** Releases a held activity lease; the task is redelivered after `delayMs`. */
export function abandonActivityBody(lease: ActivityLease, delayMs: number): WriteBody<void> {
  return (s, batch) => {
    const id = parseId(lease.taskId);
    if (id === undefined) return;
    if (s.abandonTask.run(Date.now() + delayMs, lease.hub, id, lease.token).changes === 1)
      batch.activityWork();
  };
}
