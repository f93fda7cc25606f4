/**
 * Errors of the HTTP API as RFC 9457 problem details (`application/problem+json`): the
 * `HttpProblem` thrown by request validation, the mapping from `RefrainError` codes to HTTP
 * statuses, and the writer that turns anything thrown by a route into a response.
 */
import type { ServerResponse } from "node:http";
import { RefrainError } from "../core/errors.js";

/** Codes of problems raised by the HTTP layer itself (the rest are `RefrainError` codes). */
export type HttpProblemCode =
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "PAYLOAD_TOO_LARGE"
  | "UNAUTHORIZED"
  | "BAD_REQUEST";

/** A request the HTTP layer rejects before calling the client; nothing was changed. */
export class HttpProblem extends Error {
  constructor(
    /** HTTP status code (4xx). */
    readonly status: number,
    /** Machine-readable code, sent as the problem's `code` member. */
    readonly code: HttpProblemCode | string,
    message: string,
    /** Extra response headers, e.g. `Allow` of a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpProblem";
  }
}

/** The RFC 9457 body of an error response. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const STATUS_OF_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  PAYLOAD_NOT_SERIALIZABLE: 400,
  PAYLOAD_TOO_LARGE: 413,
  ORCHESTRATOR_NOT_FOUND: 404,
  ACTIVITY_NOT_FOUND: 404,
  ENTITY_NOT_FOUND: 404,
  INSTANCE_NOT_FOUND: 404,
  INSTANCE_ALREADY_EXISTS: 409,
  INSTANCE_NOT_RUNNING: 410,
  INVALID_STATE: 409,
  TIMEOUT: 503,
  STORE_UNAVAILABLE: 503,
  STORE_CLOSED: 503,
  HUB_STOPPED: 503,
};

/** The HTTP status of a `RefrainError` code (500 for codes that mean a bug or corruption). */
export function statusOfCode(code: string): number {
  return STATUS_OF_CODE[code] ?? 500;
}

/** The problem details of anything a route threw, with the headers to send along. */
export function toProblem(err: unknown): { problem: ProblemDetails; headers: Record<string, string> } {
  let status = 500;
  let code = "INTERNAL";
  let detail = "internal error";
  let headers: Record<string, string> = {};
  if (err instanceof HttpProblem) {
    ({ status, code, headers } = err);
    detail = err.message;
  } else if (err instanceof RefrainError) {
    status = statusOfCode(err.code);
    code = err.code;
    detail = err.message;
    if (err.retryable) headers = { "retry-after": "1" };
  }
  const title = TITLES[status] ?? "Error";
  const type = `urn:refrain:problem:${code.toLowerCase().replaceAll("_", "-")}`;
  return { problem: { type, title, status, detail, code }, headers };
}

/** Sends `err` as an `application/problem+json` response (unless headers were already sent). */
export function sendProblem(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { problem, headers } = toProblem(err);
  const body = JSON.stringify(problem);
  res.writeHead(problem.status, {
    ...headers,
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(body);
}
