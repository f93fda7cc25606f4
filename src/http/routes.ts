/**
 * The management routes of the HTTP API, with Durable Functions' paths, query parameters and
 * status codes. Each route validates its query and body before calling the hub's client; the
 * router (server.ts) matches paths and methods, and the OpenAPI document describes every route.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isTerminalStatus } from "../core/events.js";
import type { TaskHub } from "../hub.js";
import { createCheckStatusResponse, statusBody } from "./management.js";
import { HttpProblem } from "./problem.js";
import { type Query, readJsonBody, readNoBody } from "./request.js";

/** What a route handler gets: the hub, the raw request and response, and validated inputs. */
export interface RouteContext {
  hub: TaskHub;
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded path parameters, by the names in the route's template. */
  params: Record<string, string>;
  query: Query;
  /** Origin used in management URLs, e.g. "http://127.0.0.1:7071". */
  origin: string;
  maxBodyBytes: number;
  /** Polling interval of event streams, for changes made by other processes. */
  streamPollMs: number;
}

/** A JSON response; `undefined` body means none. A handler that streams returns "streamed". */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One route: method, path template (`{param}` segments), accepted query parameters, handler. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query: readonly string[];
  handle: (ctx: RouteContext) => Promise<Reply | "streamed">;
}

/** The path prefix of every management route. */
export const PREFIX = "/runtime/webhooks/durabletask";

async function start(ctx: RouteContext): Promise<Reply> {
  const body = await readJsonBody(ctx.req, ctx.maxBodyBytes);
  const { functionName, instanceId } = ctx.params as { functionName: string; instanceId?: string };
  const id = await ctx.hub.client.startNew(functionName, {
    ...(body.present ? { input: body.value } : {}),
    ...(instanceId === undefined ? {} : { instanceId }),
  });
  return createCheckStatusResponse({}, id, ctx.origin);
}

async function getStatus(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const id = ctx.params.instanceId!;
  const status = await ctx.hub.client.getStatus(id, {
    showHistory: ctx.query.boolean("showHistory", false),
    showHistoryOutput: ctx.query.boolean("showHistoryOutput", false),
    showInput: ctx.query.boolean("showInput", true),
  });
  if (!status) throw new HttpProblem(404, "INSTANCE_NOT_FOUND", `no instance with ID '${id}' exists`);
  if (isTerminalStatus(status.runtimeStatus)) return { status: 200, body: statusBody(status) };
  const location = createCheckStatusResponse({}, id, ctx.origin).headers;
  return {
    status: 202,
    headers: { location: location.location!, "retry-after": location["retry-after"]! },
    body: statusBody(status),
  };
}

async function list(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const header = ctx.req.headers["x-ms-continuation-token"];
  const token = typeof header === "string" && header.length > 0 ? header : undefined;
  const showInput = ctx.query.boolean("showInput", true);
  const page = await ctx.hub.client.listInstances({
    createdFrom: ctx.query.date("createdTimeFrom"),
    createdTo: ctx.query.date("createdTimeTo"),
    runtimeStatus: ctx.query.statuses("runtimeStatus"),
    instanceIdPrefix: ctx.query.string("instanceIdPrefix"),
    pageSize: ctx.query.integer("top", 1, 1000) ?? 100,
    continuationToken: token,
  });
  const body = page.instances.map((s) => {
    const b = statusBody(s);
    if (!showInput) b.input = null;
    return b;
  });
  return {
    status: 200,
    headers: page.continuationToken ? { "x-ms-continuation-token": page.continuationToken } : {},
    body,
  };
}

async function raiseEvent(ctx: RouteContext): Promise<Reply> {
  const body = await readJsonBody(ctx.req, ctx.maxBodyBytes);
  await ctx.hub.client.raiseEvent(
    ctx.params.instanceId!,
    ctx.params.eventName!,
    body.present ? body.value : undefined,
  );
  return { status: 202 };
}

function control(action: "terminate" | "suspend" | "resume"): Route["handle"] {
  return async (ctx) => {
    await readNoBody(ctx.req, ctx.maxBodyBytes);
    await ctx.hub.client[action](ctx.params.instanceId!, ctx.query.string("reason"));
    return { status: 202 };
  };
}

async function rewind(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const id = ctx.params.instanceId!;
  const reason = ctx.query.string("reason");
  const status = await ctx.hub.client.getStatus(id, { showInput: false });
  if (!status) throw new HttpProblem(404, "INSTANCE_NOT_FOUND", `no instance with ID '${id}' exists`);
  if (status.runtimeStatus === "Completed" || status.runtimeStatus === "Terminated") {
    throw new HttpProblem(
      410,
      "INSTANCE_NOT_RUNNING",
      `instance '${id}' is ${status.runtimeStatus}; only Failed instances can be rewound`,
    );
  }
  await ctx.hub.client.rewind(id, reason);
  return { status: 202 };
}

async function restart(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const restartWithNewInstanceId = ctx.query.boolean("restartWithNewInstanceId", true);
  const id = await ctx.hub.client.restart(ctx.params.instanceId!, { restartWithNewInstanceId });
  return createCheckStatusResponse({}, id, ctx.origin);
}

async function purgeOne(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const id = ctx.params.instanceId!;
  const result = await ctx.hub.client.purgeInstanceHistory(id);
  if (result.instancesDeleted > 0) return { status: 200, body: result };
  const status = await ctx.hub.client.getStatus(id, { showInput: false });
  if (!status) throw new HttpProblem(404, "INSTANCE_NOT_FOUND", `no instance with ID '${id}' exists`);
  throw new HttpProblem(
    409,
    "INVALID_STATE",
    `instance '${id}' is ${status.runtimeStatus}; only Completed, Failed or Terminated instances can be purged`,
  );
}

async function purgeBy(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const createdFrom = ctx.query.date("createdTimeFrom");
  if (createdFrom === undefined) {
    throw new HttpProblem(
      400,
      "BAD_REQUEST",
      "query parameter 'createdTimeFrom' is required to purge by filter",
    );
  }
  const result = await ctx.hub.client.purgeInstanceHistoryBy({
    createdFrom,
    createdTo: ctx.query.date("createdTimeTo"),
    runtimeStatus: ctx.query.statuses("runtimeStatus"),
  });
  if (result.instancesDeleted === 0) {
    throw new HttpProblem(404, "NOT_FOUND", "no Completed, Failed or Terminated instance matches the filter");
  }
  return { status: 200, body: result };
}

const REASON = ["reason"] as const;
const STATUS_QUERY = ["showHistory", "showHistoryOutput", "showInput"] as const;
const LIST_QUERY = [
  "createdTimeFrom",
  "createdTimeTo",
  "runtimeStatus",
  "instanceIdPrefix",
  "showInput",
  "top",
] as const;

/** The management routes except the event stream and the OpenAPI document (see server.ts). */
export const MANAGEMENT_ROUTES: readonly Route[] = [
  { method: "POST", path: `${PREFIX}/orchestrators/{functionName}`, query: [], handle: start },
  { method: "POST", path: `${PREFIX}/orchestrators/{functionName}/{instanceId}`, query: [], handle: start },
  { method: "GET", path: `${PREFIX}/instances`, query: LIST_QUERY, handle: list },
  {
    method: "DELETE",
    path: `${PREFIX}/instances`,
    query: ["createdTimeFrom", "createdTimeTo", "runtimeStatus"],
    handle: purgeBy,
  },
  { method: "GET", path: `${PREFIX}/instances/{instanceId}`, query: STATUS_QUERY, handle: getStatus },
  { method: "DELETE", path: `${PREFIX}/instances/{instanceId}`, query: [], handle: purgeOne },
  {
    method: "POST",
    path: `${PREFIX}/instances/{instanceId}/raiseEvent/{eventName}`,
    query: [],
    handle: raiseEvent,
  },
  {
    method: "POST",
    path: `${PREFIX}/instances/{instanceId}/terminate`,
    query: REASON,
    handle: control("terminate"),
  },
  {
    method: "POST",
    path: `${PREFIX}/instances/{instanceId}/suspend`,
    query: REASON,
    handle: control("suspend"),
  },
  {
    method: "POST",
    path: `${PREFIX}/instances/{instanceId}/resume`,
    query: REASON,
    handle: control("resume"),
  },
  { method: "POST", path: `${PREFIX}/instances/{instanceId}/rewind`, query: REASON, handle: rewind },
  {
    method: "POST",
    path: `${PREFIX}/instances/{instanceId}/restart`,
    query: ["restartWithNewInstanceId"],
    handle: restart,
  },
];
