/**
 * The entity routes of the HTTP API, with Durable Functions' paths: signal an operation
 * (`POST /entities/{name}/{key}?op=…`), read a state (`GET /entities/{name}/{key}`) and list
 * entities (`GET /entities` and `GET /entities/{name}`, paged with `x-ms-continuation-token`).
 */
import { EntityId } from "../core/entity-id.js";
import type { EntityMetadata } from "../entity-client.js";
import { HttpProblem } from "./problem.js";
import { readJsonBody, readNoBody } from "./request.js";
import { PREFIX, type Reply, type Route, type RouteContext } from "./routes.js";

/** The entity addressed by the path's `{entityName}` and `{entityKey}`. */
function entityOf(ctx: RouteContext): EntityId {
  return new EntityId(ctx.params.entityName!, ctx.params.entityKey!);
}

async function signal(ctx: RouteContext): Promise<Reply> {
  const operation = ctx.query.string("op");
  if (operation === undefined || operation === "") {
    throw new HttpProblem(400, "BAD_REQUEST", "query parameter 'op' (the operation name) is required");
  }
  const id = entityOf(ctx);
  const signalTime = ctx.query.date("signalTime");
  const body = await readJsonBody(ctx.req, ctx.maxBodyBytes);
  await ctx.hub.client.signalEntity(id, operation, body.present ? body.value : undefined, { signalTime });
  return { status: 202 };
}

async function readState(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const id = entityOf(ctx);
  const { entityExists, entityState } = await ctx.hub.client.readEntityState(id);
  if (!entityExists) throw new HttpProblem(404, "NOT_FOUND", `entity '${id}' has no state`);
  return { status: 200, body: entityState ?? null };
}

/** One listed entity as Durable Functions' HTTP API shows it. */
function entityBody(e: EntityMetadata, fetchState: boolean): Record<string, unknown> {
  return {
    entityId: { name: e.id.name, key: e.id.key },
    lastOperationTime: e.lastModifiedTime.toISOString(),
    ...(fetchState ? { state: e.state ?? null } : {}),
    ...(e.lockedBy !== undefined ? { lockedBy: e.lockedBy } : {}),
    backlogQueueSize: e.backlogQueueSize,
  };
}

async function list(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const header = ctx.req.headers["x-ms-continuation-token"];
  const token = typeof header === "string" && header.length > 0 ? header : undefined;
  const fetchState = ctx.query.boolean("fetchState", false);
  const page = await ctx.hub.client.listEntities({
    ...(ctx.params.entityName === undefined ? {} : { entityName: ctx.params.entityName }),
    ...(ctx.query.string("keyPrefix") === undefined ? {} : { keyPrefix: ctx.query.string("keyPrefix") }),
    includeState: fetchState,
    includeTransient: ctx.query.boolean("includeTransient", false),
    pageSize: ctx.query.integer("top", 1, 1000) ?? 100,
    continuationToken: token,
  });
  return {
    status: 200,
    headers: page.continuationToken ? { "x-ms-continuation-token": page.continuationToken } : {},
    body: page.entities.map((e) => entityBody(e, fetchState)),
  };
}

const LIST_QUERY = ["fetchState", "includeTransient", "top"] as const;

/** The entity routes. */
export const ENTITY_ROUTES: readonly Route[] = [
  { method: "GET", path: `${PREFIX}/entities`, query: LIST_QUERY, handle: list },
  {
    method: "GET",
    path: `${PREFIX}/entities/{entityName}`,
    query: [...LIST_QUERY, "keyPrefix"],
    handle: list,
  },
  { method: "GET", path: `${PREFIX}/entities/{entityName}/{entityKey}`, query: [], handle: readState },
  {
    method: "POST",
    path: `${PREFIX}/entities/{entityName}/{entityKey}`,
    query: ["op", "signalTime"],
    handle: signal,
  },
];
