/**
 * Durable Functions' management payload and check-status response: the URLs a caller uses to
 * follow and control one instance, and the JSON shape of an instance's status over HTTP.
 */
import type { IncomingHttpHeaders } from "node:http";
import { InvalidArgumentError } from "../core/errors.js";
import { instanceIdProblem } from "../core/refs.js";
import type { OrchestrationStatus } from "../status.js";

/** Where the management routes live, below the server's origin. */
export const BASE_PATH = "/runtime/webhooks/durabletask";

/** Seconds a client should wait before polling a running instance again. */
export const RETRY_AFTER_SECONDS = 1;

/** The management URLs of one instance, as Durable Functions names them. */
export interface HttpManagementPayload {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  rewindPostUri: string;
  purgeHistoryDeleteUri: string;
  restartPostUri: string;
  suspendPostUri: string;
  resumePostUri: string;
}

/** A response to send: status, headers and a JSON body. */
export interface HttpResponseInit<B = unknown> {
  status: number;
  headers: Record<string, string>;
  body: B;
}

/** The request a check-status response answers: a Node `IncomingMessage` or a fetch `Request`. */
export interface RequestLike {
  url?: string;
  headers?: IncomingHttpHeaders | Headers;
}

/** An instance's status as the HTTP API returns it (times as ISO-8601 strings). */
export interface StatusBody {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  completedTime?: string;
  failureDetails?: unknown;
  parentInstanceId?: string;
  historyEvents?: unknown[];
}

/**
 * The management URLs of `instanceId` on the server at `baseUrl` (its origin, e.g.
 * "http://127.0.0.1:7071"). `{eventName}` and `{text}` are placeholders the caller fills in.
 * `taskHub` is added as a query parameter when given.
 */
export function createHttpManagementPayload(
  baseUrl: string,
  instanceId: string,
  options: { taskHub?: string } = {},
): HttpManagementPayload {
  const problem = instanceIdProblem(instanceId);
  if (problem) throw new InvalidArgumentError(problem);
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    throw new InvalidArgumentError(`baseUrl must be an absolute http(s) URL, got '${baseUrl}'`);
  }
  const instance = `${origin}${BASE_PATH}/instances/${encodeURIComponent(instanceId)}`;
  const hub = options.taskHub === undefined ? "" : `taskHub=${encodeURIComponent(options.taskHub)}`;
  const query = (...parts: string[]) => {
    const all = [...parts, hub].filter((p) => p.length > 0);
    return all.length ? `?${all.join("&")}` : "";
  };
  return {
    id: instanceId,
    statusQueryGetUri: `${instance}${query()}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}${query()}`,
    terminatePostUri: `${instance}/terminate${query("reason={text}")}`,
    rewindPostUri: `${instance}/rewind${query("reason={text}")}`,
    purgeHistoryDeleteUri: `${instance}${query()}`,
    restartPostUri: `${instance}/restart${query()}`,
    suspendPostUri: `${instance}/suspend${query("reason={text}")}`,
    resumePostUri: `${instance}/resume${query("reason={text}")}`,
  };
}

function header(headers: RequestLike["headers"], name: string): string | undefined {
  if (headers === undefined) return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as IncomingHttpHeaders)[name];
  return typeof value === "string" ? value : undefined;
}

const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The origin a request was sent to: its absolute URL's (fetch `Request`), else `http://` plus
 * its Host header. Throws `InvalidArgumentError` when neither is usable.
 */
export function requestOrigin(request: RequestLike): string {
  if (request.url && /^https?:\/\//i.test(request.url)) return new URL(request.url).origin;
  const host = header(request.headers, "host");
  if (host === undefined || !HOST.test(host)) {
    throw new InvalidArgumentError("the request has no usable Host header to build management URLs from");
  }
  return `http://${host}`;
}

/**
 * Durable Functions' check-status response: 202 with `Location` (the status URL), `Retry-After`
 * and the management payload as body. `baseUrl` overrides the origin taken from `request`.
 */
export function createCheckStatusResponse(
  request: RequestLike,
  instanceId: string,
  baseUrl?: string,
  options: { taskHub?: string } = {},
): HttpResponseInit<HttpManagementPayload> {
  const payload = createHttpManagementPayload(baseUrl ?? requestOrigin(request), instanceId, options);
  return {
    status: 202,
    headers: {
      "content-type": "application/json",
      location: payload.statusQueryGetUri,
      "retry-after": String(RETRY_AFTER_SECONDS),
    },
    body: payload,
  };
}

/** The HTTP shape of a status: absent input, custom status and output are `null`, as in Durable Functions. */
export function statusBody(status: OrchestrationStatus): StatusBody {
  const body: StatusBody = {
    name: status.name,
    instanceId: status.instanceId,
    runtimeStatus: status.runtimeStatus,
    input: status.input ?? null,
    customStatus: status.customStatus ?? null,
    output: status.output ?? null,
    createdTime: status.createdTime.toISOString(),
    lastUpdatedTime: status.lastUpdatedTime.toISOString(),
  };
  if (status.completedTime) body.completedTime = status.completedTime.toISOString();
  if (status.failureDetails) body.failureDetails = status.failureDetails;
  if (status.parentInstanceId !== undefined) body.parentInstanceId = status.parentInstanceId;
  if (status.history) body.historyEvents = status.history;
  return body;
}
