/**
 * The HTTP API's entry points: `createHttpHandler`, a Node request listener (also usable as
 * Connect/Express middleware) that routes, authenticates and validates requests, and
 * `createHttpServer`, which listens on a port with safe defaults (loopback only unless a key is set).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { InvalidArgumentError } from "../core/errors.js";
import type { TaskHub } from "../hub.js";
import { COUNTS_QUERY, countInstances } from "./counts.js";
import { serveDashboard } from "./dashboard/serve.js";
import { ENTITY_ROUTES } from "./entity-routes.js";
import { requestOrigin } from "./management.js";
import { OPENAPI_DOCUMENT } from "./openapi.js";
import { HttpProblem, sendProblem, toProblem } from "./problem.js";
import { checkKey, Query, readNoBody } from "./request.js";
import { MANAGEMENT_ROUTES, PREFIX, type Reply, type Route } from "./routes.js";
import { streamInstance } from "./stream.js";

/** Options of `createHttpHandler`. */
export interface HttpHandlerOptions {
  /** When set, every request must carry it (`x-refrain-key` header or `code=` query), else 401. */
  key?: string;
  /** Largest accepted request body (default 1 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
  /** Origin of the management URLs in responses (default: `http://` + the request's Host header). */
  baseUrl?: string;
  /** How often event streams look for changes made by other processes (default 1000 ms). */
  streamPollMs?: number;
}

/** Options of `createHttpServer`. */
export interface HttpServerOptions extends HttpHandlerOptions {
  /** Port to listen on (default 7071; 0 picks a free one). */
  port?: number;
  /** Address to bind (default "127.0.0.1"); anything but loopback requires `key`. */
  host?: string;
}

/** A listening HTTP API. */
export interface HttpServer {
  /** Where it listens, with the real port, e.g. "http://127.0.0.1:7071". */
  readonly url: string;
  /** Stops listening and ends open connections, event streams included. */
  close(): Promise<void>;
}

/** A Node request listener; with `next` (Connect/Express), requests outside the API are passed on. */
export type HttpRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void;

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

async function openApi(ctx: { req: IncomingMessage; maxBodyBytes: number }): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  return { status: 200, body: OPENAPI_DOCUMENT };
}

/** Every route the router knows: management, entities, counts, event stream, OpenAPI document. */
export const ROUTES: readonly Route[] = [
  ...MANAGEMENT_ROUTES,
  ...ENTITY_ROUTES,
  { method: "GET", path: `${PREFIX}/counts`, query: COUNTS_QUERY, handle: countInstances },
  {
    method: "GET",
    path: `${PREFIX}/instances/{instanceId}/stream`,
    query: ["showHistoryOutput"],
    handle: streamInstance,
  },
  { method: "GET", path: "/openapi.json", query: [], handle: openApi },
];

interface Match {
  route: Route;
  params: Record<string, string>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(400, "BAD_REQUEST", `path segment '${segment}' is not valid percent-encoding`);
  }
}

function matchTemplate(template: string, segments: string[]): Record<string, string> | undefined {
  const parts = template.split("/");
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const segment = segments[i]!;
    if (part.startsWith("{")) {
      if (segment === "") return undefined;
      params[part.slice(1, -1)] = segment;
    } else if (part !== segment) return undefined;
  }
  return params;
}

/** Finds the route of a path and method: 404 when no route has the path, 405 (with Allow) for the method. */
function route(method: string, pathname: string): Match {
  const segments = pathname.split("/");
  const byPath = ROUTES.flatMap((r) => {
    const params = matchTemplate(r.path, segments);
    return params ? [{ route: r, params }] : [];
  });
  if (byPath.length === 0) throw new HttpProblem(404, "NOT_FOUND", `no route ${pathname}`);
  const match = byPath.find((m) => m.route.method === method);
  if (!match) {
    const allow = [...new Set(byPath.map((m) => m.route.method))].join(", ");
    throw new HttpProblem(
      405,
      "METHOD_NOT_ALLOWED",
      `${method} is not allowed on ${pathname} (allowed: ${allow})`,
      {
        allow,
      },
    );
  }
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(match.params)) params[name] = decodeSegment(value);
  return { route: match.route, params };
}

function sendReply(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = { "cache-control": "no-store", ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...headers, "content-length": 0 });
    res.end();
    return;
  }
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
}

function checkKeyOption(key: unknown): void {
  if (key !== undefined && (typeof key !== "string" || key.length === 0)) {
    throw new InvalidArgumentError("key must be a non-empty string");
  }
}

/** A request listener serving the management API of `hub` (its workers are started separately). */
export function createHttpHandler(hub: TaskHub, options: HttpHandlerOptions = {}): HttpRequestHandler {
  checkKeyOption(options.key);
  const maxBodyBytes = positiveInteger("maxBodyBytes", options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  const streamPollMs = positiveInteger("streamPollMs", options.streamPollMs, 1000);
  if (options.baseUrl !== undefined && !/^https?:\/\/[^/]/i.test(options.baseUrl)) {
    throw new InvalidArgumentError(`baseUrl must be an absolute http(s) URL, got '${options.baseUrl}'`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      throw new HttpProblem(400, "BAD_REQUEST", "the request target is not a valid URL");
    }
    if (serveDashboard(req, res, url.pathname, next !== undefined)) return;
    const ours = url.pathname === "/openapi.json" || url.pathname.startsWith(`${PREFIX}/`);
    if (!ours && next) {
      next();
      return;
    }
    checkKey(req, url.searchParams, options.key);
    const { route: r, params } = route(req.method ?? "GET", url.pathname);
    const query = Query.parse(url.searchParams, r.query, `${r.method} ${r.path}`);
    const taskHub = query.string("taskHub");
    if (taskHub !== undefined && taskHub !== hub.name) {
      throw new HttpProblem(
        404,
        "NOT_FOUND",
        `task hub '${taskHub}' is not served here (this is '${hub.name}')`,
      );
    }
    const origin = options.baseUrl ? requestOrigin({ url: options.baseUrl }) : requestOrigin(req);
    const reply = await r.handle({ hub, req, res, params, query, origin, maxBodyBytes, streamPollMs });
    if (reply !== "streamed") sendReply(res, reply);
  }

  return (req, res, next) => {
    handle(req, res, next).catch((err: unknown) => {
      if (toProblem(err).problem.status === 500) console.error("refrain http: unexpected error", err);
      sendProblem(res, err);
    });
  };
}

/** Answers a request Node could not parse (bad method, header, framing) with a problem, not a bare 400. */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const { problem } = toProblem(new HttpProblem(status, "BAD_REQUEST", "the request is not valid HTTP/1.1"));
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${status} ${problem.title}\r\n` +
      `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

/** True for "localhost", 127.0.0.0/8 and ::1. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * Serves the management API of `hub` over HTTP. Binds 127.0.0.1:7071 by default; binding any
 * other address requires `key`. Resolves once listening; `url` carries the real port.
 */
export async function createHttpServer(hub: TaskHub, options: HttpServerOptions = {}): Promise<HttpServer> {
  const port = options.port ?? 7071;
  const host = options.host ?? "127.0.0.1";
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("port must be an integer from 0 to 65535");
  }
  if (typeof host !== "string" || host.length === 0)
    throw new InvalidArgumentError("host must be a non-empty string");
  checkKeyOption(options.key);
  if (!isLoopback(host) && options.key === undefined) {
    throw new InvalidArgumentError(
      `binding ${host} exposes the management API beyond this machine: pass a key (--key) or bind 127.0.0.1`,
    );
  }
  const server = createServer(createHttpHandler(hub, options));
  server.on("clientError", answerUnparsable);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
