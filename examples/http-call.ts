/**
 * Durable HTTP calls: `ctx.callHttp` calls an HTTP API from an orchestrator without writing an
 * activity. The request runs in the built-in `refrain.http` activity; a `202 Accepted` answer with
 * a `Location` header is polled on durable timers until the work behind it is done, so a long
 * job on another service survives restarts of this one.
 */
import { type OrchestratorRef, TaskFailedError, type TaskHub } from "refrain";

/** Input of the report orchestrator: where the reporting service lives. */
export interface ReportInput {
  /** Base URL of the reporting service, e.g. "http://127.0.0.1:8080". */
  serviceUrl: string;
  /** The month to report on, e.g. "2026-10". */
  month: string;
}

/** What the report orchestrator returns. */
export type ReportResult =
  | { ok: true; report: unknown }
  | { ok: false; status: number | "timeout"; reason: string };

/** The functions this example registers. */
export interface HttpCallExample {
  /** Orchestrator: asks the service for a report, waits for it (polling 202s), and returns it. */
  monthlyReport: OrchestratorRef<ReportInput, ReportResult>;
}

/** Registers the durable-HTTP example on `hub`. */
export function register(hub: TaskHub): HttpCallExample {
  const monthlyReport = hub.orchestrator<ReportInput, ReportResult>("MonthlyReport", function* (ctx) {
    try {
      // POST starts the job; the service answers 202 + Location, and callHttp polls that URL
      // (honouring Retry-After) until it stops answering 202. Every poll is a recorded step.
      const response = yield* ctx.callHttp({
        method: "POST",
        uri: `${ctx.input.serviceUrl}/reports`,
        headers: { "content-type": "application/json" },
        content: JSON.stringify({ month: ctx.input.month }),
        timeoutMs: 60_000, // the request and all polling together
      });
      if (response.statusCode !== 200) {
        return { ok: false, status: response.statusCode, reason: response.content };
      }
      return { ok: true, report: JSON.parse(response.content) };
    } catch (err) {
      // Network errors and the overall timeout arrive as TaskFailedError; details.code tells which.
      if (err instanceof TaskFailedError && err.details.code === "TIMEOUT") {
        return { ok: false, status: "timeout", reason: err.message };
      }
      throw err;
    }
  });

  return { monthlyReport };
}
