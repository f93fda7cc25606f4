/**
 * The task behind `ctx.callHttp`: one `refrain.http` activity per request, and, under the
 * asynchronous HTTP pattern, a durable timer plus a GET to `Location` for every 202 answer. Every
 * step is a recorded activity or timer, so polling survives restarts. Pure and synchronous.
 */
import { TaskFailedError } from "./errors.js";
import type { DurableHttpResponse, HttpActivityInput, NormalisedHttpRequest } from "./http-types.js";
import { Task, TimerTask } from "./tasks.js";

/** What the HTTP task schedules through its orchestration context. @internal */
export interface HttpTaskHost {
  /** Schedules one `refrain.http` activity. */
  callActivity(input: HttpActivityInput): Task<DurableHttpResponse>;
  /** Creates a durable timer. */
  createTimer(fireAt: Date): TimerTask;
  /** The orchestration's current (deterministic) time. */
  now(): Date;
}

/** Headers that describe the original body and must not travel with a poll GET. */
const BODY_HEADERS = new Set(["content-type", "content-length", "content-encoding", "transfer-encoding"]);

/** Milliseconds to wait according to a `Retry-After` value (seconds or an HTTP date), if usable. */
export function retryAfterMs(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * A durable HTTP call. Resolves with the first response that ends the exchange (any status, or a
 * non-202 under the asynchronous pattern); fails with the activity's `TaskFailedError`, or with a
 * `TaskFailedError` whose `details.code` is "TIMEOUT" once `timeoutMs` has passed.
 */
export class DurableHttpTask extends Task<DurableHttpResponse> {
  private current: Task<unknown>;
  private readonly deadline: number | undefined;
  private pollUri = "";

  constructor(
    private readonly request: NormalisedHttpRequest,
    private readonly host: HttpTaskHost,
  ) {
    super();
    const start = host.now().getTime();
    this.deadline = request.timeoutMs === undefined ? undefined : start + request.timeoutMs;
    this.current = this.send({
      method: request.method,
      uri: request.uri,
      headers: request.headers,
      ...(request.content === undefined ? {} : { content: request.content }),
    });
  }

  /** @internal */
  onChildDone(child: Task<unknown>): void {
    if (child !== this.current || this.isCompleted) return;
    if (child instanceof TimerTask) {
      if (this.deadline !== undefined && child.fireAt.getTime() >= this.deadline) {
        this.reject(this.timeoutError());
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(this.request.headers)) {
        if (!BODY_HEADERS.has(name.toLowerCase())) headers[name] = value;
      }
      this.current = this.send({ method: "GET", uri: this.pollUri, headers });
      return;
    }
    if (child.isFaulted) {
      // A poll cut short by the overall deadline reports the deadline, as the polling timer does.
      const code = (child.exception as TaskFailedError | undefined)?.details?.code;
      const polling = this.pollUri !== "";
      const pastDeadline = this.deadline !== undefined && this.host.now().getTime() >= this.deadline;
      this.reject(code === "TIMEOUT" && polling && pastDeadline ? this.timeoutError() : child.exception);
      return;
    }
    const response = child.result as DurableHttpResponse;
    const location = response.headers.location;
    if (!this.request.asynchronousPatternEnabled || response.statusCode !== 202 || !location) {
      this.resolve(response);
      return;
    }
    try {
      this.pollUri = new URL(location, this.pollUri || this.request.uri).href;
    } catch {
      const message = `HTTP ${this.request.method} ${this.request.uri} answered 202 with an invalid Location '${location}'`;
      this.reject(new TaskFailedError(message, { name: "HttpPollingError", message }));
      return;
    }
    const now = this.host.now().getTime();
    const delay =
      retryAfterMs(response.headers["retry-after"], this.host.now()) ?? this.request.pollIntervalMs;
    const fireAt = this.deadline === undefined ? now + delay : Math.min(now + delay, this.deadline);
    this.current = this.host.createTimer(new Date(fireAt));
    this.current.addListener(this);
  }

  private send(input: HttpActivityInput): Task<unknown> {
    if (this.deadline !== undefined) {
      input.timeoutMs = Math.max(1, this.deadline - this.host.now().getTime());
    }
    const task = this.host.callActivity(input);
    task.addListener(this);
    return task;
  }

  private timeoutError(): TaskFailedError {
    const { method, uri, timeoutMs } = this.request;
    const message = `HTTP ${method} ${uri} did not finish within ${timeoutMs} ms (request and polling)`;
    return new TaskFailedError(message, { name: "TimeoutError", message, code: "TIMEOUT" });
  }
}
