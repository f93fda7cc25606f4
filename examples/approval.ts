/**
 * Human interaction: ask a person to approve something, and escalate if nobody answers in time.
 *
 * The orchestrator races an external event ("Approval", raised through the client, the HTTP API
 * or `npx refrain raise <id> Approval true`) against a durable timer with `ctx.Task.any`.
 * Waiting costs nothing: the instance sleeps in the store for minutes or months, and an event
 * raised before the orchestrator starts waiting is buffered, not lost.
 */
import type { ActivityRef, OrchestratorRef, TaskHub } from "refrain";

/** The name of the event a human raises to answer. Its data is `true` (approve) or `false` (reject). */
export const APPROVAL_EVENT = "Approval";

/** Input of the approval orchestrator. */
export interface ApprovalInput {
  /** What needs approving. */
  request: string;
  /** Who is asked first. */
  approver: string;
  /** Who is told when the approver does not answer in time. */
  escalateTo: string;
  /** How long to wait for an answer (default one day). */
  timeoutMs?: number;
}

/** Result of the approval orchestrator. */
export interface ApprovalResult {
  request: string;
  outcome: "Approved" | "Rejected" | "Escalated";
  /** Who answered, or who the request was escalated to. */
  decidedBy: string;
}

/** The notification both activities send. */
export interface ApprovalNotice {
  to: string;
  request: string;
  instanceId: string;
}

/** The functions this example registers. */
export interface ApprovalExample {
  /** Activity: asks the approver (here: pretends to send an e-mail) and returns the message sent. */
  requestApproval: ActivityRef<ApprovalNotice, string>;
  /** Activity: tells someone else that the request timed out; returns the message sent. */
  escalate: ActivityRef<ApprovalNotice, string>;
  /** Orchestrator: request, wait for an answer or the deadline, then decide. */
  approvalWorkflow: OrchestratorRef<ApprovalInput, ApprovalResult>;
}

/** Registers the human-interaction example on `hub`. */
export function register(hub: TaskHub): ApprovalExample {
  // A real app would send an e-mail or a chat message containing a link that raises the event.
  const requestApproval = hub.activity(
    "RequestApproval",
    async (notice: ApprovalNotice) =>
      `to ${notice.to}: please approve "${notice.request}" (instance ${notice.instanceId})`,
  );
  const escalate = hub.activity(
    "EscalateApproval",
    async (notice: ApprovalNotice) => `to ${notice.to}: "${notice.request}" is waiting for a decision`,
  );

  const approvalWorkflow = hub.orchestrator<ApprovalInput, ApprovalResult>(
    "ApprovalWorkflow",
    function* (ctx) {
      const { request, approver, escalateTo, timeoutMs = 24 * 60 * 60 * 1000 } = ctx.input;
      const notice = { request, instanceId: ctx.instanceId };
      yield* ctx.callActivity(requestApproval, { ...notice, to: approver });

      // Start both waits, then continue with whichever finishes first.
      const deadline = new Date(ctx.currentUtcDateTime.getTime() + timeoutMs);
      const answer = ctx.waitForExternalEvent<boolean>(APPROVAL_EVENT);
      const timeout = ctx.createTimer(deadline);
      const winner = yield* ctx.Task.any([answer, timeout]);

      if (winner === answer) {
        // The answer came first: cancel the timer so it never fires into this instance.
        timeout.cancel();
        return { request, outcome: answer.result ? "Approved" : "Rejected", decidedBy: approver };
      }
      yield* ctx.callActivity(escalate, { ...notice, to: escalateTo });
      return { request, outcome: "Escalated", decidedBy: escalateTo };
    },
  );

  return { requestApproval, escalate, approvalWorkflow };
}
