/**
 * Request validation and safety of the HTTP API: every rejection is a problem+json response with
 * the right status and changes nothing; keys; server options; the management payload helpers.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  createCheckStatusResponse,
  createHttpManagementPayload,
  createHttpServer,
  MemoryStore,
  TaskHub,
} from "../../src/index.js";
import { type ApiFixture, call, P, problemOf, startApi } from "./fixture.js";

describe("rejected requests", () => {
  let api: ApiFixture;
  before(async () => {
    api = await startApi({ maxBodyBytes: 1024 });
  });
  after(() => api.close());

  async function expectProblem(path: string, init: Parameters<typeof call>[2], status: number, code: string) {
    const res = await call(api.url, path, init);
    assert.equal(res.status, status, res.text);
    assert.equal(problemOf(res).code, code);
    assert.equal(res.headers["access-control-allow-origin"], undefined);
    return res;
  }

  test("malformed JSON is 400, and nothing is started", async () => {
    await expectProblem(
      `${P}/orchestrators/Echo/bad-json`,
      { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" },
      400,
      "BAD_REQUEST",
    );
    assert.equal(await api.hub.client.getStatus("bad-json"), undefined);
  });

  test("a JSON body under another media type is 415; application/*+json is accepted", async () => {
    await expectProblem(
      `${P}/orchestrators/Echo/bad-type`,
      { method: "POST", headers: { "content-type": "text/plain" }, body: "1" },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectProblem(
      `${P}/orchestrators/Echo/no-type`,
      { method: "POST", body: "1" },
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    assert.equal(await api.hub.client.getStatus("bad-type"), undefined);
    const ok = await call(api.url, `${P}/orchestrators/Echo/vendor-type`, {
      method: "POST",
      headers: { "content-type": "application/vnd.x+json; charset=utf-8" },
      body: "1",
    });
    assert.equal(ok.status, 202);
  });

  test("a body over maxBodyBytes is 413, with or without Content-Length", async () => {
    const big = JSON.stringify("x".repeat(5000));
    await expectProblem(
      `${P}/orchestrators/Echo/too-big`,
      { method: "POST", headers: { "content-type": "application/json" }, body: big },
      413,
      "PAYLOAD_TOO_LARGE",
    );
    await expectProblem(
      `${P}/orchestrators/Echo/too-big`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        body: big,
      },
      413,
      "PAYLOAD_TOO_LARGE",
    );
    assert.equal(await api.hub.client.getStatus("too-big"), undefined);
  });

  test("unknown routes are 404; wrong methods are 405 with Allow; no CORS preflight", async () => {
    await expectProblem(`${P}/nothing`, {}, 404, "NOT_FOUND");
    await expectProblem("/nothing", {}, 404, "NOT_FOUND");
    await expectProblem(`${P}/instances/a/b/c/d`, {}, 404, "NOT_FOUND");
    const wrong = await expectProblem(`${P}/instances/x`, { method: "PUT" }, 405, "METHOD_NOT_ALLOWED");
    assert.equal(wrong.headers.allow, "GET, DELETE");
    const options = await expectProblem(`${P}/instances`, { method: "OPTIONS" }, 405, "METHOD_NOT_ALLOWED");
    assert.equal(options.headers.allow, "GET, DELETE");
  });

  test("bad path segments, unknown and repeated query parameters, bodies on bodiless routes are 400", async () => {
    await expectProblem(`${P}/instances/%E0%A4%A`, {}, 400, "BAD_REQUEST");
    await expectProblem(`${P}/instances/x?showInput=true&showInput=false`, {}, 400, "BAD_REQUEST");
    await expectProblem(`${P}/instances/x/terminate?why=1`, { method: "POST" }, 400, "BAD_REQUEST");
    await expectProblem(
      `${P}/instances/x/terminate`,
      { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
      400,
      "BAD_REQUEST",
    );
    await expectProblem(
      `${P}/orchestrators/Echo/${"x".repeat(300)}`,
      { method: "POST" },
      400,
      "INVALID_ARGUMENT",
    );
    await expectProblem(`${P}/orchestrators/Echo/ctl%01char`, { method: "POST" }, 400, "INVALID_ARGUMENT");
  });

  test("another taskHub is 404; the served one and connection= are accepted", async () => {
    await expectProblem(`${P}/instances?taskHub=other`, {}, 404, "NOT_FOUND");
    const ok = await call(api.url, `${P}/instances?taskHub=api&connection=Storage`);
    assert.equal(ok.status, 200);
  });
});

describe("keys", () => {
  let api: ApiFixture;
  before(async () => {
    api = await startApi({ key: "s3cret" });
  });
  after(() => api.close());

  test("requests without the right key are 401 and change nothing", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { "x-refrain-key": "wrong" },
      { "x-refrain-key": "s3cret2" },
    ];
    for (const headers of attempts) {
      const res = await call(api.url, `${P}/orchestrators/Echo/k-1`, { method: "POST", headers });
      assert.equal(res.status, 401);
      assert.equal(problemOf(res).code, "UNAUTHORIZED");
    }
    assert.equal((await call(api.url, "/openapi.json")).status, 401);
    assert.equal(await api.hub.client.getStatus("k-1"), undefined);
  });

  test("the key is accepted as x-refrain-key header or code= query", async () => {
    const byHeader = await call(api.url, `${P}/orchestrators/Echo/k-2`, {
      method: "POST",
      headers: { "x-refrain-key": "s3cret" },
    });
    assert.equal(byHeader.status, 202);
    const byQuery = await call(api.url, `${P}/instances/k-2?code=s3cret`);
    assert.ok(byQuery.status === 200 || byQuery.status === 202);
    assert.equal(
      (byHeader.json as { statusQueryGetUri: string }).statusQueryGetUri.includes("s3cret"),
      false,
    );
  });
});

describe("server options", () => {
  const hub = new TaskHub({ store: new MemoryStore() });

  test("a non-loopback host needs a key; bad ports and keys are rejected", async () => {
    await assert.rejects(createHttpServer(hub, { host: "0.0.0.0", port: 0 }), { code: "INVALID_ARGUMENT" });
    await assert.rejects(createHttpServer(hub, { port: 70000 }), { code: "INVALID_ARGUMENT" });
    await assert.rejects(createHttpServer(hub, { port: 0, key: "" }), { code: "INVALID_ARGUMENT" });
    await assert.rejects(createHttpServer(hub, { port: 0, maxBodyBytes: 0 }), { code: "INVALID_ARGUMENT" });
  });

  test("port 0 listens on a free port and url shows it; close is idempotent", async () => {
    const server = await createHttpServer(hub, { port: 0 });
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.url, "http://127.0.0.1:0");
    const res = await call(server.url, "/openapi.json");
    assert.equal(res.status, 200);
    await server.close();
    await server.close();
  });
});

describe("management payload", () => {
  test("createHttpManagementPayload builds Durable Functions' URLs", () => {
    const p = createHttpManagementPayload("http://localhost:7071/ignored/path", "a b/c", { taskHub: "hub1" });
    const base = "http://localhost:7071/runtime/webhooks/durabletask/instances/a%20b%2Fc";
    assert.deepEqual(p, {
      id: "a b/c",
      statusQueryGetUri: `${base}?taskHub=hub1`,
      sendEventPostUri: `${base}/raiseEvent/{eventName}?taskHub=hub1`,
      terminatePostUri: `${base}/terminate?reason={text}&taskHub=hub1`,
      rewindPostUri: `${base}/rewind?reason={text}&taskHub=hub1`,
      purgeHistoryDeleteUri: `${base}?taskHub=hub1`,
      restartPostUri: `${base}/restart?taskHub=hub1`,
      suspendPostUri: `${base}/suspend?reason={text}&taskHub=hub1`,
      resumePostUri: `${base}/resume?reason={text}&taskHub=hub1`,
    });
    assert.throws(() => createHttpManagementPayload("not a url", "x"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => createHttpManagementPayload("http://h", ""), { code: "INVALID_ARGUMENT" });
  });

  test("createCheckStatusResponse takes the origin from a Node request or a fetch Request", () => {
    const node = createCheckStatusResponse({ url: "/start", headers: { host: "example.test:8080" } }, "id1");
    assert.equal(node.status, 202);
    assert.equal(
      node.headers.location,
      "http://example.test:8080/runtime/webhooks/durabletask/instances/id1",
    );
    assert.equal(node.headers["retry-after"], "1");
    assert.equal(node.body.id, "id1");
    const web = createCheckStatusResponse(new Request("https://app.test/api/start"), "id2");
    assert.equal(web.body.statusQueryGetUri, "https://app.test/runtime/webhooks/durabletask/instances/id2");
    const explicit = createCheckStatusResponse({}, "id3", "http://10.0.0.1:7071");
    assert.equal(
      explicit.headers.location,
      "http://10.0.0.1:7071/runtime/webhooks/durabletask/instances/id3",
    );
    assert.throws(() => createCheckStatusResponse({ headers: { host: "evil\r\nx" } }, "id4"), {
      code: "INVALID_ARGUMENT",
    });
  });
});
