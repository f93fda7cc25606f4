/** The OpenAPI document covers every route; the event stream follows an instance to its end. */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { ROUTES } from "../../src/http/server.js";
import { type ApiFixture, call, P, postJson, problemOf, startApi } from "./fixture.js";

let api: ApiFixture;
before(async () => {
  api = await startApi();
});
after(() => api.close());

interface Operation {
  parameters: { name: string; in: string }[];
  responses: Record<string, unknown>;
}

describe("OpenAPI", () => {
  test("GET /openapi.json describes every route, with its path and query parameters", async () => {
    const res = await call(api.url, "/openapi.json");
    assert.equal(res.status, 200);
    const doc = res.json as { openapi: string; paths: Record<string, Record<string, Operation>> };
    assert.equal(doc.openapi, "3.1.0");
    let operations = 0;
    for (const route of ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      assert.ok(op, `${route.method} ${route.path} is missing from the OpenAPI document`);
      const names = op.parameters.map((p) => `${p.in}:${p.name}`);
      for (const q of route.query) assert.ok(names.includes(`query:${q}`), `${route.path} lacks query ${q}`);
      for (const [, param] of route.path.matchAll(/\{(\w+)\}/g)) {
        assert.ok(names.includes(`path:${param}`), `${route.path} lacks path parameter ${param}`);
      }
      operations++;
    }
    const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    assert.equal(documented, operations, "the document describes a route the router does not know");
  });
});

/** Reads an SSE response to its end and returns its events. */
function readStream(
  url: string,
  path: string,
  onOpen?: () => void,
): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (text === "") onOpen?.();
        text += chunk;
      });
      res.on("end", () => {
        const events = text
          .split("\n\n")
          .filter((block) => block.trim())
          .map((block) => {
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
            const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown;
            return { event, data };
          });
        resolve(events);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("event stream", () => {
  test("streams status changes and history until the instance completes", async () => {
    await postJson(api.url, `${P}/orchestrators/Approval/sse-1`, "in");
    await api.waitFor("sse-1", ["Running"]);
    const events = await readStream(api.url, `${P}/instances/sse-1/stream?showHistoryOutput=true`, () => {
      void postJson(api.url, `${P}/instances/sse-1/raiseEvent/Approval`, true);
    });
    const statuses = events.filter((e) => e.event === "status").map((e) => e.data as Record<string, unknown>);
    assert.equal(statuses[0]!.runtimeStatus, "Running");
    assert.equal(statuses.at(-1)!.runtimeStatus, "Completed");
    assert.deepEqual(statuses.at(-1)!.output, { approved: true });
    assert.equal(events.at(-1)!.event, "status", "the stream ends with the final status");
    const kinds = events.filter((e) => e.event === "history").map((e) => (e.data as { kind: string }).kind);
    assert.ok(kinds.includes("ExecutionStarted") && kinds.includes("EventRaised"), kinds.join());
    const started = events.find((e) => (e.data as { kind?: string }).kind === "ExecutionStarted");
    assert.equal((started!.data as { input: unknown }).input, "in");
  });

  test("a finished instance's stream sends its final status and ends; unknown IDs are 404", async () => {
    await postJson(api.url, `${P}/orchestrators/Echo/sse-2`, 2);
    await api.waitFor("sse-2", ["Completed"]);
    const events = await readStream(api.url, `${P}/instances/sse-2/stream`);
    const statuses = events.filter((e) => e.event === "status");
    assert.equal(statuses.length, 1);
    assert.equal((statuses[0]!.data as { output: unknown }).output, 2);
    const history = events.find((e) => e.event === "history")!.data as Record<string, unknown>;
    assert.equal("input" in history, false, "payloads are left out unless showHistoryOutput=true");
    const missing = await call(api.url, `${P}/instances/nobody/stream`);
    assert.equal(missing.status, 404);
    problemOf(missing);
  });

  test("a client that disconnects ends its stream and its store subscription", async () => {
    await postJson(api.url, `${P}/orchestrators/Approval/sse-3`, null);
    await api.waitFor("sse-3", ["Running"]);
    const store = api.hub.store;
    const subscribe = store.subscribe.bind(store);
    let active = 0;
    store.subscribe = (hub, listener) => {
      active++;
      const unsubscribe = subscribe(hub, listener);
      return () => {
        active--;
        unsubscribe();
      };
    };
    try {
      const u = new URL(api.url);
      await new Promise<void>((resolve, reject) => {
        const path = `${P}/instances/sse-3/stream`;
        const req = request({ host: u.hostname, port: u.port, path, agent: false }, (res) => {
          res.once("data", () => {
            assert.equal(active, 1);
            req.destroy();
            resolve();
          });
        });
        req.on("error", (err: NodeJS.ErrnoException) =>
          err.code === "ECONNRESET" ? undefined : reject(err),
        );
        req.end();
      });
      while (active > 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal((await call(api.url, `${P}/instances/sse-3`)).status, 202);
    } finally {
      store.subscribe = subscribe;
    }
  });
});
