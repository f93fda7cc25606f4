/**
 * The built-in `refrain.http` activity behind `ctx.callHttp`: performs one HTTP request with the
 * global `fetch` and returns status, lower-cased headers and body text. Polling under the
 * asynchronous pattern happens in the orchestration (core/http-task.ts), not here.
 */
import { TimeoutError } from "./core/errors.js";
import type { DurableHttpResponse, HttpActivityInput } from "./core/http-types.js";
import type { ActivityContext } from "./dispatch/runtime.js";

/** A request that got no HTTP response (DNS, connection, TLS or protocol failure). */
class HttpRequestError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "HttpRequestError";
  }
}

/** Performs one durable-HTTP request; a network error or timeout fails the activity with details. */
export async function httpActivity(
  input: HttpActivityInput,
  ctx: ActivityContext,
): Promise<DurableHttpResponse> {
  const what = `HTTP ${input.method} ${input.uri}`;
  const timeout = input.timeoutMs === undefined ? undefined : AbortSignal.timeout(input.timeoutMs);
  const signal = timeout ? AbortSignal.any([ctx.signal, timeout]) : ctx.signal;
  try {
    const response = await fetch(input.uri, {
      method: input.method,
      headers: input.headers,
      ...(input.content === undefined ? {} : { body: input.content }),
      signal,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      const key = name.toLowerCase();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value; // repeated set-cookie
    });
    const content = await response.text();
    return { statusCode: response.status, headers, content };
  } catch (err) {
    if (timeout?.aborted && !ctx.signal.aborted) {
      throw new TimeoutError(`${what} timed out after ${input.timeoutMs} ms`);
    }
    const reason = err instanceof Error ? err.message : String(err);
    const detail = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    throw new HttpRequestError(`${what} failed: ${reason}${detail}`, err);
  }
}
