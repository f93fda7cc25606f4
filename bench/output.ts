/**
 * What the benchmark prints. On stdout, results: with `--json` one JSON object per workload per
 * line in the exact format of BENCH.md (`workload`, `store`, `median`, `min`, `max`, `unit`,
 * `repeats`, `metrics`), otherwise one readable line per result. On stderr, progress: on a
 * terminal one status line rewritten in place (at most ten times a second) with log lines printed
 * above it; elsewhere (CI, files) only the log lines, so redirected output stays short.
 */
import { cpus, totalmem } from "node:os";
import type { WorkloadResult } from "./harness.js";
import { round, type Summary } from "./measure.js";

const REFRESH_MS = 100;

/** Writes progress and log lines to stderr. */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private line = "";
  private lastWrite = 0;

  /** Replaces the status line (terminal only); `force` skips the refresh throttle. */
  status(text: string, force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastWrite < REFRESH_MS) return;
    this.lastWrite = now;
    this.line = text;
    const width = process.stderr.columns ? process.stderr.columns - 1 : 120;
    process.stderr.write(`\r\x1b[K${text.slice(0, width)}`);
  }

  /** Prints a log line (above the status line on a terminal). */
  log(text: string): void {
    if (this.tty && this.line) process.stderr.write("\r\x1b[K");
    process.stderr.write(`${text}\n`);
    if (this.tty && this.line) this.status(this.line, true);
  }

  /** Clears the status line. */
  clear(): void {
    if (this.tty && this.line) process.stderr.write("\r\x1b[K");
    this.line = "";
  }
}

function rounded(summary: Summary): Summary {
  return { median: round(summary.median), min: round(summary.min), max: round(summary.max) };
}

/** The BENCH.md JSON line of a result (metrics carry median, min and max). */
export function jsonLine(result: WorkloadResult): string {
  const primary = rounded(result.primary);
  const metrics: Record<string, Summary> = {};
  for (const [key, value] of Object.entries(result.metrics)) metrics[key] = rounded(value);
  return JSON.stringify({
    workload: result.workload,
    store: result.store,
    median: primary.median,
    min: primary.min,
    max: primary.max,
    unit: result.unit,
    repeats: result.repeats,
    metrics,
  });
}

/** A readable line: the primary figure with its range, then every metric's median. */
export function textLine(result: WorkloadResult): string {
  const p = rounded(result.primary);
  const workers = result.metrics.workers?.median ?? 1;
  const label = result.metrics.otel ? `${result.store}+otel` : result.store;
  const store = workers > 1 ? `${label}×${workers}` : label;
  const metrics = Object.entries(result.metrics)
    .filter(([key]) => key !== "workers" && key !== "concurrency" && key !== "otel")
    .map(([key, value]) => `${key} ${round(value.median)}`)
    .join(" · ");
  return (
    `${result.workload.padEnd(4)} ${store.padEnd(11)} ${String(p.median).padStart(8)} ${result.unit.padEnd(5)} ` +
    `(min ${p.min}, max ${p.max}; ${result.repeats} runs)  ${metrics}`
  );
}

/** The line printed for a workload that cannot run. */
export function unavailableLine(id: string, reason: string, json: boolean): string {
  return json ? `${id}: not available (${reason}); skipped` : `${id.padEnd(4)} not available: ${reason}`;
}
/** The first log line: machine, Node.js and store versions, and the run settings. */
export function headerLine(versions: Record<string, string>, concurrency: number, repeats: number): string {
  const stores = Object.entries(versions).map(([kind, version]) => `, ${kind} ${version}`);
  return (
    `refrain bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB RAM${stores.join("")}; hub concurrency ${concurrency}, ` +
    `${repeats} repeats after one warm-up`
  );
}
