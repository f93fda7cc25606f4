import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { APPROVAL_EVENT, type ApprovalInput, register } from "../../examples/approval.js";
import { type StoreKind, withExampleHub } from "./hub.js";

const request = (timeoutMs: number): ApprovalInput => ({
  request: "buy 3 laptops",
  approver: "alice",
  escalateTo: "bob",
  timeoutMs,
});

for (const kind of ["memory", "sqlite"] satisfies StoreKind[]) {
  describe(`human interaction (${kind})`, () => {
    test("an approval event ends the wait long before the timer would fire", () =>
      withExampleHub(register, kind, async ({ hub, refs, finished }) => {
        const id = await hub.client.startNew(refs.approvalWorkflow, { input: request(60 * 60 * 1000) });
        await hub.client.raiseEvent(id, APPROVAL_EVENT, true);
        const status = await finished(id);
        assert.equal(status.runtimeStatus, "Completed");
        assert.deepEqual(status.output, {
          request: "buy 3 laptops",
          outcome: "Approved",
          decidedBy: "alice",
        });
        const history = (await hub.client.getStatus(id, { showHistory: true }))?.history ?? [];
        const activities = history.filter((e) => e.kind === "TaskScheduled").map((e) => e.name);
        assert.deepEqual(activities, ["RequestApproval"], "no escalation after an answer");
        assert.equal(history.filter((e) => e.kind === "TimerFired").length, 0);
      }));

    test("no answer before the timeout escalates", () =>
      withExampleHub(register, kind, async ({ hub, refs, finished }) => {
        const id = await hub.client.startNew(refs.approvalWorkflow, { input: request(50) });
        const status = await finished(id);
        assert.equal(status.runtimeStatus, "Completed");
        assert.deepEqual(status.output, { request: "buy 3 laptops", outcome: "Escalated", decidedBy: "bob" });
        const history = (await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true }))
          ?.history;
        const escalation = history?.find((e) => e.kind === "TaskScheduled" && e.name === "EscalateApproval");
        assert.deepEqual(escalation?.input, { request: "buy 3 laptops", instanceId: id, to: "bob" });
      }));
  });
}

describe("human interaction: answers", () => {
  test("a `false` answer rejects", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.approvalWorkflow, { input: request(60_000) });
      await hub.client.raiseEvent(id, APPROVAL_EVENT, false);
      const status = await finished(id);
      assert.deepEqual(status.output, { request: "buy 3 laptops", outcome: "Rejected", decidedBy: "alice" });
    }));

  test("an answer that arrives after the escalation is refused", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.approvalWorkflow, { input: request(20) });
      await finished(id);
      await assert.rejects(hub.client.raiseEvent(id, APPROVAL_EVENT, true), { code: "INSTANCE_NOT_RUNNING" });
    }));
});
