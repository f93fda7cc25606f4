/** Every management route's success path and its Durable Functions status codes, over real HTTP. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ApiFixture, call, P, postJson, problemOf, startApi } from "./fixture.js";

let api: ApiFixture;
before(async () => {
  api = await startApi({ kind: "sqlite" });
});
after(() => api.close());

async function startApproval(id: string) {
  const res = await postJson(api.url, `${P}/orchestrators/Approval/${id}`, { order: id });
  assert.equal(res.status, 202, res.text);
  await api.waitFor(id, ["Running"]);
  return res;
}

describe("start", () => {
  test("POST /orchestrators/{name} starts with a new ID and returns the management payload", async () => {
    const res = await postJson(api.url, `${P}/orchestrators/Echo`, { hello: "world" });
    assert.equal(res.status, 202);
    const payload = res.json as Record<string, string>;
    assert.match(payload.id!, /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.location, payload.statusQueryGetUri);
    assert.equal(payload.statusQueryGetUri, `${api.url}${P}/instances/${payload.id}`);
    assert.equal(res.headers["retry-after"], "1");
    const done = await api.waitFor(payload.id!, ["Completed"]);
    assert.deepEqual(done.output, { hello: "world" });
  });

  test("an explicit ID is used; an empty body means no input", async () => {
    const res = await call(api.url, `${P}/orchestrators/Echo/explicit-1`, { method: "POST" });
    assert.equal(res.status, 202);
    assert.equal((res.json as { id: string }).id, "explicit-1");
    const done = await api.waitFor("explicit-1", ["Completed"]);
    assert.equal(done.output, undefined);
  });

  test("409 when the ID is active, 404 for an unknown orchestrator, nothing created", async () => {
    await startApproval("dup-1");
    const dup = await postJson(api.url, `${P}/orchestrators/Approval/dup-1`, 1);
    assert.equal(dup.status, 409);
    assert.equal(problemOf(dup).code, "INSTANCE_ALREADY_EXISTS");
    const unknown = await postJson(api.url, `${P}/orchestrators/Nope/never-1`, 1);
    assert.equal(unknown.status, 404);
    assert.equal(problemOf(unknown).code, "ORCHESTRATOR_NOT_FOUND");
    assert.equal(await api.hub.client.getStatus("never-1"), undefined);
  });
});

describe("status and list", () => {
  test("GET /instances/{id}: 202 with Location while running, 200 when finished, history on request", async () => {
    await startApproval("st-1");
    const running = await call(api.url, `${P}/instances/st-1`);
    assert.equal(running.status, 202);
    assert.equal(running.headers.location, `${api.url}${P}/instances/st-1`);
    const body = running.json as Record<string, unknown>;
    assert.equal(body.runtimeStatus, "Running");
    assert.equal(body.name, "Approval");
    assert.equal(body.customStatus, "waiting");
    assert.deepEqual(body.input, { order: "st-1" });
    assert.equal(body.output, null);
    assert.ok(!Number.isNaN(Date.parse(String(body.createdTime))));

    await postJson(api.url, `${P}/instances/st-1/raiseEvent/Approval`, true);
    await api.waitFor("st-1", ["Completed"]);
    const done = await call(
      api.url,
      `${P}/instances/st-1?showHistory=true&showHistoryOutput=true&showInput=false`,
    );
    assert.equal(done.status, 200);
    const final = done.json as { output: unknown; input: unknown; historyEvents: { kind: string }[] };
    assert.deepEqual(final.output, { approved: true });
    assert.equal(final.input, null);
    assert.ok(final.historyEvents.some((e) => e.kind === "EventRaised"));
  });

  test("GET /instances/{id}: 404 for an unknown ID, 400 for a bad flag", async () => {
    const res = await call(api.url, `${P}/instances/nobody`);
    assert.equal(res.status, 404);
    assert.equal(problemOf(res).code, "INSTANCE_NOT_FOUND");
    const bad = await call(api.url, `${P}/instances/nobody?showHistory=yes`);
    assert.equal(bad.status, 400);
    assert.match(problemOf(bad).detail, /showHistory/);
  });

  test("GET /instances filters, pages with x-ms-continuation-token", async () => {
    for (const n of [1, 2, 3]) {
      await postJson(api.url, `${P}/orchestrators/Echo/page-${n}`, n);
      await api.waitFor(`page-${n}`, ["Completed"]);
    }
    const first = await call(api.url, `${P}/instances?instanceIdPrefix=page-&top=2&runtimeStatus=completed`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      (first.json as { instanceId: string }[]).map((s) => s.instanceId),
      ["page-1", "page-2"],
    );
    const token = first.headers["x-ms-continuation-token"];
    assert.equal(typeof token, "string");
    const second = await call(api.url, `${P}/instances?instanceIdPrefix=page-&top=2&showInput=false`, {
      headers: { "x-ms-continuation-token": String(token) },
    });
    const rest = second.json as { instanceId: string; input: unknown }[];
    assert.deepEqual(
      rest.map((s) => s.instanceId),
      ["page-3"],
    );
    assert.equal(rest[0]!.input, null);
    assert.equal(second.headers["x-ms-continuation-token"], undefined);
    const future = await call(
      api.url,
      `${P}/instances?instanceIdPrefix=page-&createdTimeFrom=2999-01-01T00:00:00Z`,
    );
    assert.deepEqual(future.json, []);
  });

  test("GET /instances rejects bad query values and tokens with 400", async () => {
    for (const q of [
      "top=0",
      "top=1001",
      "top=abc",
      "runtimeStatus=Done",
      "createdTimeFrom=yesterday",
      "bogus=1",
    ]) {
      const res = await call(api.url, `${P}/instances?${q}`);
      assert.equal(res.status, 400, q);
      problemOf(res);
    }
    const badToken = await call(api.url, `${P}/instances`, {
      headers: { "x-ms-continuation-token": "garbage" },
    });
    assert.equal(badToken.status, 400);
    assert.equal(problemOf(badToken).code, "INVALID_ARGUMENT");
  });
});

describe("events and control", () => {
  test("raiseEvent: 202, then 410 once finished, 404 for an unknown instance", async () => {
    await startApproval("ev-1");
    const ok = await postJson(api.url, `${P}/instances/ev-1/raiseEvent/Approval`, false);
    assert.equal(ok.status, 202);
    const done = await api.waitFor("ev-1", ["Completed"]);
    assert.deepEqual(done.output, { approved: false });
    const gone = await postJson(api.url, `${P}/instances/ev-1/raiseEvent/Approval`, true);
    assert.equal(gone.status, 410);
    assert.equal(problemOf(gone).code, "INSTANCE_NOT_RUNNING");
    const unknown = await postJson(api.url, `${P}/instances/nobody/raiseEvent/Approval`, true);
    assert.equal(unknown.status, 404);
  });

  test("suspend and resume: 202 each; terminate: 202 then 410", async () => {
    await startApproval("ctl-1");
    const suspend = await call(api.url, `${P}/instances/ctl-1/suspend?reason=pause`, { method: "POST" });
    assert.equal(suspend.status, 202);
    await api.waitFor("ctl-1", ["Suspended"]);
    const resume = await call(api.url, `${P}/instances/ctl-1/resume?reason=go`, { method: "POST" });
    assert.equal(resume.status, 202);
    await api.waitFor("ctl-1", ["Running"]);
    const terminate = await call(api.url, `${P}/instances/ctl-1/terminate?reason=stop`, { method: "POST" });
    assert.equal(terminate.status, 202);
    const status = await api.waitFor("ctl-1", ["Terminated"]);
    assert.equal(status.output, "stop");
    for (const action of ["terminate", "suspend", "resume"]) {
      const gone = await call(api.url, `${P}/instances/ctl-1/${action}`, { method: "POST" });
      assert.equal(gone.status, 410, action);
      const unknown = await call(api.url, `${P}/instances/nobody/${action}`, { method: "POST" });
      assert.equal(unknown.status, 404, action);
    }
  });

  test("rewind: 202 for a Failed instance, 409 while running, 410 when Completed, 404 unknown", async () => {
    await call(api.url, `${P}/orchestrators/Flaky/rw-1`, { method: "POST" });
    await api.waitFor("rw-1", ["Failed"]);
    const failed = await call(api.url, `${P}/instances/rw-1`);
    assert.equal(failed.status, 200);
    assert.match(
      JSON.stringify((failed.json as { failureDetails: unknown }).failureDetails),
      /first attempt/,
    );
    const ok = await call(api.url, `${P}/instances/rw-1/rewind?reason=fixed`, { method: "POST" });
    assert.equal(ok.status, 202);
    await api.waitFor("rw-1", ["Completed"]);
    const completed = await call(api.url, `${P}/instances/rw-1/rewind`, { method: "POST" });
    assert.equal(completed.status, 410);
    await startApproval("rw-2");
    const running = await call(api.url, `${P}/instances/rw-2/rewind`, { method: "POST" });
    assert.equal(running.status, 409);
    assert.equal(problemOf(running).code, "INVALID_STATE");
    assert.equal((await call(api.url, `${P}/instances/nobody/rewind`, { method: "POST" })).status, 404);
  });

  test("restart: 202 with the new ID's payload; same ID with restartWithNewInstanceId=false", async () => {
    await postJson(api.url, `${P}/orchestrators/Echo/rs-1`, "again");
    await api.waitFor("rs-1", ["Completed"]);
    const fresh = await call(api.url, `${P}/instances/rs-1/restart`, { method: "POST" });
    assert.equal(fresh.status, 202);
    const id = (fresh.json as { id: string }).id;
    assert.notEqual(id, "rs-1");
    assert.equal(fresh.headers.location, `${api.url}${P}/instances/${id}`);
    assert.equal((await api.waitFor(id, ["Completed"])).output, "again");
    const same = await call(api.url, `${P}/instances/rs-1/restart?restartWithNewInstanceId=false`, {
      method: "POST",
    });
    assert.equal(same.status, 202);
    assert.equal((same.json as { id: string }).id, "rs-1");
    await startApproval("rs-2");
    const active = await call(api.url, `${P}/instances/rs-2/restart?restartWithNewInstanceId=false`, {
      method: "POST",
    });
    assert.equal(active.status, 409);
    assert.equal((await call(api.url, `${P}/instances/nobody/restart`, { method: "POST" })).status, 404);
  });
});

describe("purge", () => {
  test("DELETE /instances/{id}: 200 with instancesDeleted, 404 afterwards, 409 while running", async () => {
    await postJson(api.url, `${P}/orchestrators/Echo/pg-1`, 1);
    await api.waitFor("pg-1", ["Completed"]);
    const res = await call(api.url, `${P}/instances/pg-1`, { method: "DELETE" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { instancesDeleted: 1 });
    assert.equal((await call(api.url, `${P}/instances/pg-1`, { method: "DELETE" })).status, 404);
    await startApproval("pg-2");
    const running = await call(api.url, `${P}/instances/pg-2`, { method: "DELETE" });
    assert.equal(running.status, 409);
    assert.ok(await api.hub.client.getStatus("pg-2"));
  });

  test("DELETE /instances purges by filter; createdTimeFrom is required; 404 when nothing matched", async () => {
    const from = new Date().toISOString();
    for (const n of [1, 2]) {
      await postJson(api.url, `${P}/orchestrators/Echo/pf-${n}`, n);
      await api.waitFor(`pf-${n}`, ["Completed"]);
    }
    assert.equal((await call(api.url, `${P}/instances`, { method: "DELETE" })).status, 400);
    const res = await call(api.url, `${P}/instances?createdTimeFrom=${from}&runtimeStatus=Completed`, {
      method: "DELETE",
    });
    assert.equal(res.status, 200);
    assert.ok((res.json as { instancesDeleted: number }).instancesDeleted >= 2);
    assert.equal(await api.hub.client.getStatus("pf-1"), undefined);
    const none = await call(api.url, `${P}/instances?createdTimeFrom=2999-01-01T00:00:00Z`, {
      method: "DELETE",
    });
    assert.equal(none.status, 404);
  });
});
