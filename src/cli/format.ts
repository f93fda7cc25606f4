/**
 * Text rendering of the `refrain` command: aligned tables with truncated cells, key/value blocks,
 * failure cause chains, and the status and history views built from them. No colours.
 */
import type { FailureDetails } from "../core/errors.js";
import type { HistoryEventView, OrchestrationStatus } from "../status.js";

/** Widest a table cell gets by default before it is cut with "…". */
export const DEFAULT_CELL_WIDTH = 60;

/** Shortens text to `width` characters, ending with "…" when cut; newlines become spaces. */
export function truncate(text: string, width: number): string {
  const line = text.replace(/\s*[\r\n]+\s*/g, " ");
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * Renders rows under headers, columns padded to their widest cell and separated by two spaces.
 * `maxWidths[i]` caps column i (default `DEFAULT_CELL_WIDTH`); the last column is not padded.
 */
export function renderTable(headers: string[], rows: string[][], maxWidths: number[] = []): string {
  const cap = (i: number) => maxWidths[i] ?? DEFAULT_CELL_WIDTH;
  const cells = [headers, ...rows].map((row) => row.map((cell, i) => truncate(cell, cap(i))));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Renders `key: value` lines with the values aligned; continuation lines are indented. */
export function renderKeyValues(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([key]) => key.length)) + 2;
  return pairs
    .map(([key, value]) => `${`${key}:`.padEnd(width)}${value.split("\n").join(`\n${" ".repeat(width)}`)}`)
    .join("\n");
}

/** A value as compact JSON (strings quoted, so types stay visible); "undefined" for no value. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

/** A time as ISO-8601 UTC. */
export function formatTime(time: Date | string | undefined): string {
  if (time === undefined) return "";
  return typeof time === "string" ? time : time.toISOString();
}

/** One failure as "Name [CODE]: message". */
export function describeFailure(failure: FailureDetails): string {
  const code = failure.code ? ` [${failure.code}]` : "";
  return `${failure.name}${code}: ${failure.message}`;
}

/** A failure and its cause chain, one line each, causes prefixed with "caused by:". */
export function failureChain(failure: FailureDetails): string[] {
  const lines = [describeFailure(failure)];
  let cause = failure.cause;
  for (let depth = 0; cause && depth < 32; depth++) {
    lines.push(`caused by: ${describeFailure(cause)}`);
    cause = cause.cause;
  }
  return lines;
}

/** The readable block of `refrain status`: identity, status, times, payloads and failure. */
export function renderStatus(status: OrchestrationStatus): string {
  const pairs: [string, string][] = [
    ["Name", status.name],
    ["Instance ID", status.instanceId],
    ["Status", status.runtimeStatus],
    ["Created", formatTime(status.createdTime)],
    ["Updated", formatTime(status.lastUpdatedTime)],
  ];
  if (status.completedTime) pairs.push(["Completed", formatTime(status.completedTime)]);
  if (status.parentInstanceId) pairs.push(["Parent", status.parentInstanceId]);
  if ("input" in status) pairs.push(["Input", formatValue(status.input)]);
  if ("output" in status) pairs.push(["Output", formatValue(status.output)]);
  if ("customStatus" in status) pairs.push(["Custom status", formatValue(status.customStatus)]);
  if (status.failureDetails) pairs.push(["Failure", failureChain(status.failureDetails).join("\n")]);
  return renderKeyValues(pairs);
}

const SHOWN_ELSEWHERE = new Set(["kind", "eventId", "timestamp"]);
/** Decoded payloads: shown as JSON even when they are strings, so their type stays visible. */
const PAYLOAD_KEYS = new Set(["input", "result"]);

/** The details column of one history event: its other fields as `key=value`. */
export function eventDetails(event: HistoryEventView): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (SHOWN_ELSEWHERE.has(key) || value === undefined) continue;
    if (key === "failure" && value && typeof value === "object") {
      parts.push(`failure=${describeFailure(value as FailureDetails)}`);
    } else if (key === "parent" && value && typeof value === "object") {
      parts.push(`parent=${(value as { instanceId?: unknown }).instanceId}`);
    } else {
      const raw = typeof value === "string" && !PAYLOAD_KEYS.has(key);
      parts.push(`${key}=${raw ? value : formatValue(value)}`);
    }
  }
  return parts.join(" ");
}

/** The history table of `refrain status --history`: one row per event, in order. */
export function renderHistory(history: readonly HistoryEventView[]): string {
  if (history.length === 0) return "(no history)";
  const rows = history.map((event, index) => [
    String(index + 1),
    event.timestamp,
    event.kind,
    String(event.eventId),
    eventDetails(event),
  ]);
  return renderTable(["#", "TIME", "KIND", "EVENT ID", "DETAILS"], rows, [6, 30, 36, 8, 100]);
}

/** The table of `refrain list`. */
export function renderInstanceTable(instances: readonly OrchestrationStatus[]): string {
  const rows = instances.map((s) => [
    s.instanceId,
    s.name,
    s.runtimeStatus,
    formatTime(s.createdTime),
    formatTime(s.lastUpdatedTime),
  ]);
  return renderTable(["ID", "NAME", "STATUS", "CREATED", "UPDATED"], rows, [40, 30]);
}
