/**
 * The asynchronous HTTP pattern across a worker restart: the service answers the POST with 202 and
 * a Location, then the Location with 202 twice before 200. Hub A is stopped after the first poll;
 * hub B, a new hub on the same SQLite file, finishes the polling. Every request and timer is a
 * recorded step, so no completed request is sent again.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DurableHttpResponse,
  type OrchestrationContext,
  SqliteStore,
  TaskHub,
} from "../../src/index.js";
import { type ScriptedServer, startServer } from "./server.js";

let server: ScriptedServer;
let dir: string;
/** Resolves when the first poll of the job's Location has been answered. */
let firstPollAnswered: Promise<void>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "refrain-http-call-"));
  let signal = () => {};
  firstPollAnswered = new Promise((resolve) => {
    signal = resolve;
  });
  server = await startServer({
    "POST /jobs": (req, res) => {
      assert.equal(req.body, "make it");
      res.writeHead(202, { location: "/jobs/7" }).end();
    },
    "GET /jobs/7": (_req, res, nth) => {
      if (nth <= 2) {
        res.writeHead(202, { location: "/jobs/7" }).end(`poll ${nth}`);
        if (nth === 1) res.on("finish", signal);
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end("job 7 done");
      }
    },
  });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function makeHub(dbPath: string): TaskHub {
  const hub = new TaskHub({
    store: new SqliteStore({ path: dbPath }),
    leaseMs: 60_000, // a lease left behind by hub A would stall hub B: the graceful stop must release it
    maxIdleMs: 50,
    orchestrationLog: () => {},
  });
  hub.orchestrator("RunJob", function* (ctx: OrchestrationContext<string>) {
    return yield* ctx.callHttp({
      method: "POST",
      uri: `${ctx.input}/jobs`,
      content: "make it",
      pollIntervalMs: 300,
    });
  });
  return hub;
}

describe("callHttp polling across a restart", () => {
  test("hub B finishes the polling hub A started; completed requests are not sent again", async () => {
    const dbPath = join(dir, "hub.db");
    const hubA = makeHub(dbPath);
    await hubA.start();
    const id = await hubA.client.startNew("RunJob", { input: server.url });
    await firstPollAnswered;
    await sleep(50); // let hub A record the answer and start the next poll timer
    await hubA.stop();
    const countsAtStop = { post: server.count("POST", "/jobs"), get: server.count("GET", "/jobs/7") };
    assert.deepEqual(countsAtStop, { post: 1, get: 1 });

    const hubB = makeHub(dbPath);
    try {
      await hubB.start();
      const status = await hubB.client.waitForCompletion(id, { timeoutMs: 20_000 });
      assert.equal(status.runtimeStatus, "Completed");
      const response = status.output as DurableHttpResponse;
      assert.equal(response.statusCode, 200);
      assert.equal(response.content, "job 7 done");

      // A graceful stop commits what ran, so each request went out exactly once.
      assert.equal(server.count("POST", "/jobs"), 1);
      assert.equal(server.count("GET", "/jobs/7"), 3);

      const history =
        (await hubB.client.getStatus(id, { showHistory: true, showHistoryOutput: true }))?.history ?? [];
      const scheduled = history.filter((e) => e.kind === "TaskScheduled");
      assert.deepEqual(
        scheduled.map((e) => (e.input as { method: string }).method),
        ["POST", "GET", "GET", "GET"],
      );
      assert.ok(scheduled.every((e) => e.name === "refrain.http"));
      assert.equal(history.filter((e) => e.kind === "TimerCreated").length, 3);
      const polled = scheduled.slice(1).map((e) => (e.input as { uri: string; content?: string }).uri);
      assert.deepEqual(polled, Array(3).fill(`${server.url}/jobs/7`));
    } finally {
      await hubB.stop();
    }
  });
});
