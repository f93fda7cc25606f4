/**
 * The status view of an instance, as users see it: payloads decoded, times as Dates, history
 * optionally included with or without payloads.
 */
import { deserialize } from "./core/codec.js";
import type { FailureDetails } from "./core/errors.js";
import type { HistoryEvent, HistoryEventKind, RuntimeStatus } from "./core/events.js";
import type { InstanceRecord } from "./core/records.js";

/** One history event as shown in a status query: payload fields decoded (or left out). */
export interface HistoryEventView {
  kind: HistoryEventKind;
  eventId: number;
  timestamp: string;
  /** Every other field of the event; `input`/`result` decoded when history output is shown. */
  [field: string]: unknown;
}

/** The status of one orchestration instance. */
export interface OrchestrationStatus {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
  createdTime: Date;
  lastUpdatedTime: Date;
  completedTime?: Date;
  failureDetails?: FailureDetails;
  parentInstanceId?: string;
  history?: HistoryEventView[];
}

/** Options of `getStatus`. */
export interface StatusOptions {
  /** Include the current execution's history. */
  showHistory?: boolean;
  /** Include payloads (inputs, results) in the history. */
  showHistoryOutput?: boolean;
  /** Include the instance input (default true). */
  showInput?: boolean;
}

function decode(payload: string | undefined): unknown {
  try {
    return deserialize(payload);
  } catch {
    return payload;
  }
}

/** Converts a stored history event for display. */
export function historyEventView(event: HistoryEvent, withPayloads: boolean): HistoryEventView {
  const view: HistoryEventView = { ...event };
  for (const key of ["input", "result"] as const) {
    if (!(key in view)) continue;
    if (withPayloads) view[key] = decode(view[key] as string | undefined);
    else delete view[key];
  }
  return view;
}

/** Builds the user-facing status from a stored record. */
export function toStatus(
  record: InstanceRecord,
  options: StatusOptions = {},
  history?: readonly HistoryEvent[],
): OrchestrationStatus {
  const status: OrchestrationStatus = {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    createdTime: new Date(record.createdAt),
    lastUpdatedTime: new Date(record.lastUpdatedAt),
  };
  if (options.showInput !== false && record.input !== undefined) status.input = decode(record.input);
  if (record.output !== undefined) status.output = decode(record.output);
  if (record.customStatus !== undefined) status.customStatus = decode(record.customStatus);
  if (record.completedAt !== undefined) status.completedTime = new Date(record.completedAt);
  if (record.failure) status.failureDetails = record.failure;
  if (record.parent) status.parentInstanceId = record.parent.instanceId;
  if (history) status.history = history.map((e) => historyEventView(e, options.showHistoryOutput === true));
  return status;
}
