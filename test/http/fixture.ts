/**
 * Test fixture of the HTTP API tests: a started hub with a few orchestrations (on MemoryStore or a
 * temporary SQLite file), its HTTP server on a free port, and `call`, a small HTTP client built on
 * node:http that sends exactly the bytes asked for (methods, headers and bodies browsers refuse).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createHttpServer,
  type HttpServer,
  type HttpServerOptions,
  MemoryStore,
  type OrchestrationStatus,
  SqliteStore,
  type Store,
  TaskHub,
} from "../../src/index.js";

/** The management routes' prefix. */
export const P = "/runtime/webhooks/durabletask";

/** One HTTP exchange's result. */
export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

/** A request to send. */
export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Sends one request to `baseUrl + path` and collects the whole response. */
export function call(baseUrl: string, path: string, options: CallOptions = {}): Promise<Response> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? "GET",
        headers: {
          ...(options.body === undefined || options.headers?.["transfer-encoding"]
            ? {}
            : { "content-length": Buffer.byteLength(options.body) }),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    // The server may answer (413) and close before an oversized body is fully written.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** POSTs JSON. */
export function postJson(baseUrl: string, path: string, value: unknown): Promise<Response> {
  return call(baseUrl, path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
}

/** A started hub behind an HTTP server. */
export interface ApiFixture {
  hub: TaskHub;
  store: Store;
  server: HttpServer;
  url: string;
  /** Path of the SQLite file (sqlite fixtures only). */
  dbPath?: string;
  /** Waits (up to 10 s) until the instance has one of these statuses. */
  waitFor(instanceId: string, statuses: string[]): Promise<OrchestrationStatus>;
  close(): Promise<void>;
}

const quiet = () => {};
const QUIET = { debug: quiet, info: quiet, warn: quiet, error: quiet };

/**
 * Registers the test functions: orchestrations Echo, Approval (waits for "Approval") and Flaky
 * (fails once), and the entity Counter (add, delete).
 */
export function registerFunctions(hub: TaskHub): void {
  // biome-ignore lint/correctness/useYield: an orchestrator that never waits is valid
  hub.orchestrator("Echo", function* (ctx) {
    return ctx.getInput();
  });
  hub.orchestrator("Approval", function* (ctx) {
    ctx.setCustomStatus("waiting");
    const approved = yield ctx.waitForExternalEvent<boolean>("Approval");
    return { approved };
  });
  let failures = 0;
  const flaky = hub.activity("FlakyStep", async () => {
    failures++;
    if (failures === 1) throw new Error("first attempt fails");
    return "ok";
  });
  hub.orchestrator("Flaky", function* (ctx) {
    return yield* ctx.callActivity(flaky, undefined);
  });
  hub.entity<number>("Counter", (ctx) => {
    if (ctx.operationName === "add") ctx.setState(ctx.getState(() => 0) + ctx.getInput<number>());
    else if (ctx.operationName === "delete") ctx.destructOnExit();
    else throw new Error(`no operation ${ctx.operationName}`);
  });
}

/** Starts a hub on a fresh store and serves it on a free loopback port. */
export async function startApi(
  options: HttpServerOptions & { kind?: "memory" | "sqlite"; start?: boolean } = {},
): Promise<ApiFixture> {
  const { kind = "memory", start = true, ...serverOptions } = options;
  const dir = kind === "sqlite" ? mkdtempSync(join(tmpdir(), "refrain-http-")) : undefined;
  const dbPath = dir ? join(dir, "http.db") : undefined;
  const store = dbPath ? new SqliteStore({ path: dbPath }) : new MemoryStore();
  const hub = new TaskHub({ name: "api", store, orchestrationLog: () => {}, logger: QUIET });
  registerFunctions(hub);
  if (start) await hub.start();
  const server = await createHttpServer(hub, { port: 0, streamPollMs: 50, ...serverOptions });
  return {
    hub,
    store,
    server,
    url: server.url,
    ...(dbPath ? { dbPath } : {}),
    async waitFor(instanceId, statuses) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const status = await hub.client.getStatus(instanceId);
        if (status && statuses.includes(status.runtimeStatus)) return status;
        if (Date.now() > deadline)
          throw new Error(`${instanceId} is ${status?.runtimeStatus}, not ${statuses}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await server.close();
      await hub.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The problem body of an error response, after checking its media type and shape. */
export function problemOf(res: Response): {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
} {
  const ct = String(res.headers["content-type"]);
  if (!ct.startsWith("application/problem+json"))
    throw new Error(`not a problem response (${ct}): ${res.text}`);
  const body = res.json as { type: string; title: string; status: number; detail: string; code: string };
  if (body.status !== res.status || typeof body.code !== "string" || typeof body.detail !== "string") {
    throw new Error(`malformed problem: ${res.text}`);
  }
  return body;
}
