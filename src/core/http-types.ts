/**
 * Durable HTTP calls: the request and response shapes of `ctx.callHttp`, the input of the built-in
 * `refrain.http` activity that performs one request, and the validation done at the call site.
 * Pure: URL parsing only, no I/O.
 */
import { InvalidArgumentError } from "./errors.js";

/** Name of the built-in activity that performs one HTTP request; every task hub registers it. */
export const HTTP_ACTIVITY_NAME = "refrain.http";

/** Poll interval when a 202 response carries no usable `Retry-After` header. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/** A durable HTTP request, as Durable Functions' `DurableHttpRequest`. */
export interface DurableHttpRequest {
  /** HTTP method, e.g. "GET" or "POST" (upper-cased before sending). */
  method: string;
  /** Absolute http(s) URL. */
  uri: string;
  /** Request body, as text. Not allowed with GET or HEAD. */
  content?: string;
  /** Request headers; names and values are strings. */
  headers?: Record<string, string>;
  /**
   * Follow the asynchronous HTTP pattern (default true): a 202 response with a `Location` header
   * is polled with GET, on durable timers, until the answer is not 202.
   */
  asynchronousPatternEnabled?: boolean;
  /** Total time for the request and all polling; past it the task fails with details code "TIMEOUT". */
  timeoutMs?: number;
  /** Wait between polls when a 202 response has no usable `Retry-After` header (default 1000 ms). */
  pollIntervalMs?: number;
}

/** The answer to a durable HTTP request. */
export interface DurableHttpResponse {
  /** HTTP status code. */
  statusCode: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** Response body, as text. */
  content: string;
}

/** What one `refrain.http` activity invocation sends. @internal */
export interface HttpActivityInput {
  method: string;
  uri: string;
  headers: Record<string, string>;
  content?: string;
  /** Abort the request after this long. */
  timeoutMs?: number;
}

/** A validated request with defaults applied. @internal */
export interface NormalisedHttpRequest {
  method: string;
  uri: string;
  headers: Record<string, string>;
  content?: string;
  asynchronousPatternEnabled: boolean;
  timeoutMs?: number;
  pollIntervalMs: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;

function positiveMs(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`callHttp: ${name} must be a positive number of milliseconds`);
  }
  return value;
}

function checkHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  if (headers === null || typeof headers !== "object" || Array.isArray(headers)) {
    throw new InvalidArgumentError("callHttp: headers must be an object of string values");
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new InvalidArgumentError(`callHttp: '${name}' is not a valid header name`);
    if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
      throw new InvalidArgumentError(`callHttp: header '${name}' must be a string without line breaks`);
    }
    out[name] = value;
  }
  return out;
}

/** Validates a `callHttp` request and applies defaults; throws `InvalidArgumentError`. @internal */
export function normaliseHttpRequest(request: unknown): NormalisedHttpRequest {
  if (request === null || typeof request !== "object") {
    throw new InvalidArgumentError("callHttp needs a request object { method, uri, ... }");
  }
  const r = request as Partial<Record<keyof DurableHttpRequest, unknown>>;
  if (typeof r.method !== "string" || !TOKEN.test(r.method)) {
    throw new InvalidArgumentError(
      `callHttp: method must be an HTTP method name, got ${JSON.stringify(r.method)}`,
    );
  }
  const method = r.method.toUpperCase();
  let uri: string;
  try {
    const url = new URL(String(r.uri));
    if (typeof r.uri !== "string" || (url.protocol !== "http:" && url.protocol !== "https:"))
      throw new Error();
    uri = url.href;
  } catch {
    throw new InvalidArgumentError(
      `callHttp: uri must be an absolute http(s) URL, got ${JSON.stringify(r.uri)}`,
    );
  }
  if (r.content !== undefined && typeof r.content !== "string") {
    throw new InvalidArgumentError("callHttp: content must be a string (serialise JSON yourself)");
  }
  if (r.content !== undefined && (method === "GET" || method === "HEAD")) {
    throw new InvalidArgumentError(`callHttp: a ${method} request cannot have content`);
  }
  if (r.asynchronousPatternEnabled !== undefined && typeof r.asynchronousPatternEnabled !== "boolean") {
    throw new InvalidArgumentError("callHttp: asynchronousPatternEnabled must be a boolean");
  }
  const normalised: NormalisedHttpRequest = {
    method,
    uri,
    headers: checkHeaders(r.headers),
    asynchronousPatternEnabled: r.asynchronousPatternEnabled ?? true,
    pollIntervalMs: positiveMs("pollIntervalMs", r.pollIntervalMs) ?? DEFAULT_POLL_INTERVAL_MS,
  };
  if (r.content !== undefined) normalised.content = r.content;
  const timeoutMs = positiveMs("timeoutMs", r.timeoutMs);
  if (timeoutMs !== undefined) normalised.timeoutMs = timeoutMs;
  return normalised;
}
