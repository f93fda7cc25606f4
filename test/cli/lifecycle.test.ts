/**
 * The `refrain` CLI driving a live app's instances through their lifecycle: start, status,
 * raise, wait, terminate, suspend, resume, rewind, restart and purge.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { HistoryEventView, OrchestrationStatus } from "../../src/index.js";
import { type CliFixture, parseJson, startFixture } from "./fixture.js";

describe("refrain CLI: instance lifecycle", () => {
  let fx: CliFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.close();
  });

  test("start → status → raise → wait → status shows the Completed output", async () => {
    const started = await fx.cli("start", "Approval", "--input", '{"order":7}', "--id", "order-7");
    assert.deepEqual(started, { code: 0, stdout: "order-7\n", stderr: "" });
    await fx.waitForStatus("order-7", ["Running"]);

    const running = await fx.cli("status", "order-7");
    assert.equal(running.code, 0);
    assert.match(running.stdout, /^Name:\s+Approval$/m);
    assert.match(running.stdout, /^Instance ID:\s+order-7$/m);
    assert.match(running.stdout, /^Status:\s+Running$/m);
    assert.match(running.stdout, /^Input:\s+\{"order":7\}$/m);
    assert.match(running.stdout, /^Custom status:\s+"waiting for approval"$/m);

    const raised = await fx.cli("raise", "order-7", "approve", '{"by":"ann"}');
    assert.equal(raised.code, 0);
    assert.match(raised.stdout, /raised event 'approve' on instance 'order-7'/);

    const waited = await fx.cli("wait", "order-7", "--timeout-ms", "15000");
    assert.equal(waited.code, 0);
    assert.match(waited.stdout, /^Status:\s+Completed$/m);

    const done = await fx.cli("status", "order-7", "--json");
    assert.equal(done.code, 0);
    const status = parseJson<OrchestrationStatus>(done);
    assert.equal(status.runtimeStatus, "Completed");
    assert.deepEqual(status.output, { input: { order: 7 }, approved: { by: "ann" } });
    assert.deepEqual(status.input, { order: 7 });
  });

  test("start without --id prints a new UUID the app runs; --start-at keeps it Pending", async () => {
    const started = await fx.cli("start", "Echo", "--input", "[1,2]");
    const id = started.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.deepEqual((await fx.waitForStatus(id, ["Completed"])).output, [1, 2]);

    const later = await fx.cli(
      "start",
      "Echo",
      "--id",
      "later-1",
      "--start-at",
      "2999-01-01T00:00:00Z",
      "--json",
    );
    assert.deepEqual(parseJson(later), { instanceId: "later-1" });
    assert.equal((await fx.app.client.getStatus("later-1"))?.runtimeStatus, "Pending");
  });

  test("status --history lists the events; --history-output adds payloads; --no-input hides the input", async () => {
    await fx.cli("start", "Approval", "--id", "hist-1", "--input", '"secret-input"');
    await fx.waitForStatus("hist-1", ["Running"]);
    await fx.cli("raise", "hist-1", "approve", "true");
    await fx.waitForStatus("hist-1", ["Completed"]);

    const plain = await fx.cli("status", "hist-1", "--history");
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^History:$/m);
    assert.match(plain.stdout, /^#\s+TIME\s+KIND\s+EVENT ID\s+DETAILS$/m);
    assert.match(plain.stdout, /ExecutionStarted\s+-1\s+name=Approval/);
    assert.match(plain.stdout, /EventRaised\s+-1\s+name=approve$/m);
    assert.doesNotMatch(plain.stdout, /input=/);

    const withOutput = await fx.cli("status", "hist-1", "--history-output");
    assert.match(withOutput.stdout, /EventRaised\s+-1\s+name=approve input=true/);
    assert.match(withOutput.stdout, /ExecutionCompleted\s+\d+\s+status=Completed result=/);

    const json = parseJson<OrchestrationStatus>(await fx.cli("status", "hist-1", "--history", "--json"));
    const kinds = (json.history ?? []).map((e: HistoryEventView) => e.kind);
    assert.ok(kinds.includes("ExecutionStarted") && kinds.includes("ExecutionCompleted"), kinds.join());

    const noInput = await fx.cli("status", "hist-1", "--no-input");
    assert.doesNotMatch(noInput.stdout, /^Input:/m);
    assert.match(noInput.stdout, /^Output:/m);
  });

  test("a failed instance shows its failure with the cause chain; wait exits 2", async () => {
    await fx.cli("start", "Fail", "--id", "fail-1");
    const waited = await fx.cli("wait", "fail-1");
    assert.equal(waited.code, 2);
    assert.match(waited.stdout, /^Status:\s+Failed$/m);
    assert.match(waited.stdout, /^Failure:\s+TaskFailedError \[TASK_FAILED\]: activity 'Explode' failed/m);
    assert.match(waited.stdout, /^\s+caused by: Error: kaput$/m);
    assert.match(waited.stdout, /^\s+caused by: TypeError: inner reason$/m);
    assert.doesNotMatch(waited.stdout, /\n\s+at /, "no stack traces in the text view");
  });

  test("terminate ends a running instance with its reason; wait exits 2", async () => {
    await fx.cli("start", "Approval", "--id", "term-1");
    await fx.waitForStatus("term-1", ["Running"]);
    const terminated = await fx.cli("terminate", "term-1", "--reason", "not needed");
    assert.equal(terminated.code, 0);
    assert.match(terminated.stdout, /requested termination of 'term-1'/);
    const waited = await fx.cli("wait", "term-1", "--json");
    assert.equal(waited.code, 2);
    assert.equal(parseJson<OrchestrationStatus>(waited).runtimeStatus, "Terminated");
    const history = parseJson<OrchestrationStatus>(await fx.cli("status", "term-1", "--history", "--json"));
    const event = history.history?.find((e) => e.kind === "ExecutionTerminated");
    assert.equal(event?.reason, "not needed");
  });

  test("terminate --recursive also ends the running sub-orchestration", async () => {
    await fx.cli("start", "Parent", "--id", "tree-1");
    await fx.waitForStatus("tree-1-child", ["Running"]);
    assert.equal((await fx.cli("terminate", "tree-1", "--recursive")).code, 0);
    await fx.waitForStatus("tree-1", ["Terminated"]);
    await fx.waitForStatus("tree-1-child", ["Terminated"]);
  });

  test("suspend and resume: a suspended instance waits, then completes after resume", async () => {
    await fx.cli("start", "Approval", "--id", "susp-1");
    await fx.waitForStatus("susp-1", ["Running"]);
    const suspended = await fx.cli("suspend", "susp-1", "--reason", "audit", "--json");
    assert.deepEqual(parseJson(suspended), { instanceId: "susp-1", requested: "suspend" });
    await fx.waitForStatus("susp-1", ["Suspended"]);
    assert.match((await fx.cli("list", "--status", "suspended", "--prefix", "susp-")).stdout, /susp-1/);

    assert.equal((await fx.cli("resume", "susp-1", "--reason", "ok")).code, 0);
    await fx.waitForStatus("susp-1", ["Running"]);
    await fx.cli("raise", "susp-1", "approve", "1");
    const waited = await fx.cli("wait", "susp-1", "--json");
    assert.equal(waited.code, 0);
    assert.deepEqual(parseJson<OrchestrationStatus>(waited).output, { approved: 1 });
  });

  test("rewind turns a Failed instance whose activity failed once into Completed", async () => {
    await fx.cli("start", "Flaky", "--id", "flaky-1", "--input", '"job"');
    assert.equal((await fx.cli("wait", "flaky-1")).code, 2);
    const rewound = await fx.cli("rewind", "flaky-1", "--reason", "fixed");
    assert.equal(rewound.code, 0);
    assert.match(rewound.stdout, /requested rewind of 'flaky-1'/);
    // The rewind request is processed by the app's workers; until then the instance stays Failed.
    await fx.waitForStatus("flaky-1", ["Completed"]);
    const status = await fx.cli("status", "flaky-1", "--json");
    assert.equal(parseJson<OrchestrationStatus>(status).output, "done job");
  });

  test("rewind of an instance that is not Failed is an INVALID_STATE error", async () => {
    await fx.cli("start", "Echo", "--id", "echo-rw", "--input", "1");
    await fx.waitForStatus("echo-rw", ["Completed"]);
    const rewound = await fx.cli("rewind", "echo-rw");
    assert.equal(rewound.code, 1);
    assert.match(rewound.stderr, /^error \[INVALID_STATE\]: only Failed instances can be rewound/);
    assert.equal(rewound.stdout, "");
  });

  test("restart starts the same input under a new ID, or the same ID with --same-id", async () => {
    await fx.cli("start", "Echo", "--id", "echo-rs", "--input", '{"n":5}');
    await fx.waitForStatus("echo-rs", ["Completed"]);

    const restarted = await fx.cli("restart", "echo-rs");
    assert.equal(restarted.code, 0);
    const newId = restarted.stdout.trim();
    assert.notEqual(newId, "echo-rs");
    assert.deepEqual((await fx.waitForStatus(newId, ["Completed"])).output, { n: 5 });

    const executionId = async () => {
      const status = parseJson<OrchestrationStatus>(await fx.cli("status", "echo-rs", "--history", "--json"));
      return status.history?.find((e) => e.kind === "ExecutionStarted")?.executionId;
    };
    const firstExecution = await executionId();
    const same = await fx.cli("restart", "echo-rs", "--same-id", "--json");
    assert.deepEqual(parseJson(same), { instanceId: "echo-rs", restartedFrom: "echo-rs" });
    assert.deepEqual((await fx.waitForStatus("echo-rs", ["Completed"])).output, { n: 5 });
    const secondExecution = await executionId();
    assert.ok(typeof firstExecution === "string" && typeof secondExecution === "string");
    assert.notEqual(secondExecution, firstExecution);
  });

  test("purge <id> deletes a finished instance and refuses a running one", async () => {
    await fx.cli("start", "Echo", "--id", "purge-done", "--input", "0");
    await fx.waitForStatus("purge-done", ["Completed"]);
    const purged = await fx.cli("purge", "purge-done");
    assert.deepEqual(purged, { code: 0, stdout: "purged 1 instance\n", stderr: "" });
    assert.equal(await fx.app.client.getStatus("purge-done"), undefined);
    const gone = await fx.cli("purge", "purge-done");
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error \[INSTANCE_NOT_FOUND\]/);

    await fx.cli("start", "Approval", "--id", "purge-running");
    await fx.waitForStatus("purge-running", ["Running"]);
    const refused = await fx.cli("purge", "purge-running");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error \[INVALID_STATE\]: instance 'purge-running' is Running/);
    assert.equal((await fx.app.client.getStatus("purge-running"))?.runtimeStatus, "Running");
  });

  test("bulk purge deletes only finished instances matching the filter", async () => {
    await fx.cli("start", "Fail", "--id", "bulk-old");
    await fx.waitForStatus("bulk-old", ["Failed"]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const from = new Date().toISOString();
    for (const id of ["bulk-f1", "bulk-f2"]) await fx.cli("start", "Fail", "--id", id);
    await fx.cli("start", "Echo", "--id", "bulk-ok", "--input", "1");
    await fx.cli("start", "Approval", "--id", "bulk-running");
    for (const id of ["bulk-f1", "bulk-f2"]) await fx.waitForStatus(id, ["Failed"]);
    await fx.waitForStatus("bulk-ok", ["Completed"]);
    await fx.waitForStatus("bulk-running", ["Running"]);

    const purged = await fx.cli("purge", "--status", "Failed,Running", "--created-from", from, "--json");
    assert.equal(purged.code, 0);
    assert.deepEqual(parseJson(purged), { instancesDeleted: 2 });
    const left = await fx.instanceIds();
    assert.ok(!left.includes("bulk-f1") && !left.includes("bulk-f2"));
    assert.ok(left.includes("bulk-ok") && left.includes("bulk-running") && left.includes("bulk-old"));
  });
});
