/**
 * `ctx.callHttp` against a local server: plain requests recorded in history, the asynchronous
 * pattern switched off, timeouts and network errors surfacing as TaskFailedError, and request
 * validation at the call site. Polling across a restart is in polling-restart.test.ts.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { retryAfterMs } from "../../src/core/http-task.js";
import {
  type DurableHttpRequest,
  type DurableHttpResponse,
  MemoryStore,
  type OrchestrationContext,
  type OrchestrationStatus,
  TaskFailedError,
  TaskHub,
} from "../../src/index.js";
import { closedPort, type ScriptedServer, startServer } from "./server.js";

let server: ScriptedServer;
let hub: TaskHub | undefined;

before(async () => {
  server = await startServer({
    "GET /hello": (_req, res) => {
      res.writeHead(200, { "X-Reply": "yes", "content-type": "text/plain" }).end("hello there");
    },
    "POST /echo": (req, res) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ got: JSON.parse(req.body), auth: req.headers.authorization }));
    },
    "POST /accepted": (_req, res) => {
      res.writeHead(202, { location: "/never", "retry-after": "1" }).end();
    },
    "GET /pending": (_req, res) => {
      res.writeHead(202, { location: "/pending" }).end("still working");
    },
    "GET /hang": () => {}, // never answers
  });
});

after(() => server.close());

afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});

/** Runs `request` (or a throwing call) in an orchestration on a fresh memory hub; returns the final status. */
async function run(
  body: (ctx: OrchestrationContext) => Generator<unknown, unknown, unknown>,
): Promise<OrchestrationStatus> {
  hub = new TaskHub({ store: new MemoryStore(), maxIdleMs: 20, orchestrationLog: () => {} });
  hub.orchestrator("Call", body as (ctx: OrchestrationContext) => Generator<never, unknown, unknown>);
  await hub.start();
  const id = await hub.client.startNew("Call");
  return hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
}

function* callAndCatch(ctx: OrchestrationContext, request: DurableHttpRequest) {
  try {
    return yield* ctx.callHttp(request);
  } catch (err) {
    assert.ok(err instanceof TaskFailedError);
    return {
      failed: err.details.name,
      code: err.details.code ?? null,
      message: err.message,
      cause: err.details.cause,
    };
  }
}

describe("ctx.callHttp", () => {
  test("the built-in refrain.http activity is registered and its name reserved", () => {
    const h = new TaskHub({ store: new MemoryStore() });
    h.activity("Mine", () => 1);
    assert.deepEqual(h.activityNames(), ["Mine", "refrain.http"]);
    assert.throws(() => h.activity("refrain.http", () => 1), { code: "INVALID_ARGUMENT" });
  });

  test("a GET returns status, lower-cased headers and content", async () => {
    const status = await run(function* (ctx) {
      return yield* ctx.callHttp({ method: "get", uri: `${server.url}/hello`, headers: { "X-Trace": "t1" } });
    });
    assert.equal(status.runtimeStatus, "Completed");
    const response = status.output as DurableHttpResponse;
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["x-reply"], "yes");
    assert.equal(response.content, "hello there");
    const seen = server.seen.filter((r) => r.path === "/hello").at(-1);
    assert.equal(seen?.method, "GET");
    assert.equal(seen?.headers["x-trace"], "t1");
  });

  test("a POST sends content and headers; request and response are recorded in history", async () => {
    const status = await run(function* (ctx) {
      return yield* ctx.callHttp({
        method: "POST",
        uri: `${server.url}/echo`,
        headers: { "content-type": "application/json", authorization: "Bearer abc" },
        content: JSON.stringify({ n: 42 }),
      });
    });
    const response = status.output as DurableHttpResponse;
    assert.equal(response.statusCode, 201);
    assert.deepEqual(JSON.parse(response.content), { got: { n: 42 }, auth: "Bearer abc" });
    const history = (
      await hub?.client.getStatus(status.instanceId, { showHistory: true, showHistoryOutput: true })
    )?.history;
    const scheduled = history?.filter((e) => e.kind === "TaskScheduled") ?? [];
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0]?.name, "refrain.http");
    assert.deepEqual(scheduled[0]?.input, {
      method: "POST",
      uri: `${server.url}/echo`,
      headers: { "content-type": "application/json", authorization: "Bearer abc" },
      content: '{"n":42}',
    });
    const completed = history?.find((e) => e.kind === "TaskCompleted");
    assert.equal((completed?.result as DurableHttpResponse).statusCode, 201);
  });

  test("with asynchronousPatternEnabled false a 202 is returned as is", async () => {
    const status = await run(function* (ctx) {
      return yield* ctx.callHttp({
        method: "POST",
        uri: `${server.url}/accepted`,
        asynchronousPatternEnabled: false,
      });
    });
    const response = status.output as DurableHttpResponse;
    assert.equal(response.statusCode, 202);
    assert.equal(response.headers.location, "/never");
    assert.equal(server.count("GET", "/never"), 0);
  });

  test("polling past timeoutMs fails with a TaskFailedError the orchestrator can catch", async () => {
    const before = server.count("GET", "/pending");
    const status = await run((ctx) =>
      callAndCatch(ctx, { method: "GET", uri: `${server.url}/pending`, timeoutMs: 400, pollIntervalMs: 50 }),
    );
    assert.equal(status.runtimeStatus, "Completed");
    const out = status.output as { failed: string; code: string; message: string };
    assert.equal(out.failed, "TimeoutError");
    assert.equal(out.code, "TIMEOUT");
    assert.match(out.message, /did not finish within 400 ms/);
    assert.ok(server.count("GET", "/pending") - before >= 2, "the Location was polled");
  });

  test("a request that hangs past timeoutMs is aborted and fails with code TIMEOUT", async () => {
    const status = await run((ctx) =>
      callAndCatch(ctx, { method: "GET", uri: `${server.url}/hang`, timeoutMs: 200 }),
    );
    const out = status.output as { failed: string; code: string; message: string };
    assert.equal(out.code, "TIMEOUT");
    assert.match(out.message, /timed out after/);
  });

  test("a network error fails the task with the cause kept", async () => {
    const port = await closedPort();
    const status = await run((ctx) =>
      callAndCatch(ctx, { method: "GET", uri: `http://127.0.0.1:${port}/x` }),
    );
    const out = status.output as { failed: string; message: string; cause: { cause?: { code?: string } } };
    assert.equal(out.failed, "HttpRequestError");
    assert.match(out.message, new RegExp(`GET http://127.0.0.1:${port}/x failed`));
    assert.equal(out.cause.cause?.code, "ECONNREFUSED");
  });

  test("invalid requests throw InvalidArgumentError at the call site", async () => {
    const bad: unknown[] = [
      undefined,
      { method: "GET", uri: "/relative" },
      { method: "GET", uri: "ftp://example.com/x" },
      { method: "GET", uri: 42 },
      { method: "BAD METHOD", uri: "http://example.com" },
      { method: "GET", uri: "http://example.com", content: "body on a GET" },
      { method: "POST", uri: "http://example.com", content: { not: "text" } },
      { method: "GET", uri: "http://example.com", headers: { "x-n": 1 } },
      { method: "GET", uri: "http://example.com", headers: { "bad name": "v" } },
      { method: "GET", uri: "http://example.com", headers: { x: "a\r\nb" } },
      { method: "GET", uri: "http://example.com", timeoutMs: 0 },
      { method: "GET", uri: "http://example.com", pollIntervalMs: -1 },
      { method: "GET", uri: "http://example.com", asynchronousPatternEnabled: "yes" },
    ];
    const status = await run(function* (ctx) {
      const codes: string[] = [];
      for (const request of bad) {
        try {
          ctx.callHttp(request as DurableHttpRequest);
          codes.push("accepted");
        } catch (err) {
          codes.push(`${(err as Error).name}:${(err as { code?: string }).code}`);
        }
      }
      yield ctx.createTimer(ctx.currentUtcDateTime); // an orchestrator must yield something
      return codes;
    });
    assert.deepEqual(
      status.output,
      bad.map(() => "InvalidArgumentError:INVALID_ARGUMENT"),
    );
    const history = (await hub?.client.getStatus(status.instanceId, { showHistory: true }))?.history ?? [];
    assert.equal(history.filter((e) => e.kind === "TaskScheduled").length, 0, "nothing was scheduled");
  });

  test("Retry-After is read as seconds or as an HTTP date", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    assert.equal(retryAfterMs("3", now), 3000);
    assert.equal(retryAfterMs(" 0 ", now), 0);
    assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
    assert.equal(retryAfterMs("Wed, 31 Dec 2025 23:00:00 GMT", now), 0);
    assert.equal(retryAfterMs("soon", now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});
