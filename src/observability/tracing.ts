/**
 * OpenTelemetry traces through `@opentelemetry/api` only: no-ops until the application registers
 * an SDK. One trace per instance; the orchestration span covers start to completion and is
 * created once, retroactively, by the step that completes it. Its trace and span IDs are derived
 * from the instance and execution IDs, so spans created earlier or in other processes (activities,
 * timers, sub-orchestrations) name it as their parent. A client's active span, captured at
 * `startNew` as a W3C traceparent in the ExecutionStarted event, becomes the instance's parent.
 */
import { createHash } from "node:crypto";
import {
  type Attributes,
  type Context,
  context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import type { FailureDetails } from "../core/errors.js";
import type { ExecutionStartedEvent } from "../core/events.js";

/** Span attribute names. */
export const ATTR = {
  instanceId: "refrain.instance_id",
  orchestrationName: "refrain.orchestration.name",
  taskName: "refrain.task.name",
  taskId: "refrain.task.id",
  attempt: "refrain.attempt",
  entityId: "refrain.entity.id",
  entityOperation: "refrain.entity.operation",
} as const;

/** The tracer every Refrain span comes from. */
export function tracer() {
  return trace.getTracer("refrain");
}

/** True once the application registered a tracer provider (an SDK); spares work otherwise. */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer("refrain") !== undefined;
}

function digest(length: number, ...parts: (string | number)[]): string {
  return createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, length);
}

/** A W3C `traceparent` value (version 00, sampled). */
export function formatTraceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

/** Parses a W3C `traceparent`; malformed values give undefined. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const match = value ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value) : null;
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { traceId: match[1], spanId: match[2], traceFlags: Number.parseInt(match[3], 16), isRemote: true };
}

/** The caller's active span as a traceparent, for a new instance's ExecutionStarted event. */
export function currentTraceparent(): string | undefined {
  const active = trace.getSpanContext(context.active());
  if (!active || !trace.isSpanContextValid(active)) return undefined;
  return formatTraceparent(active.traceId, active.spanId);
}

/** Where an execution's spans hang: its trace, its orchestration span and that span's parent. */
export interface ExecutionTrace {
  traceId: string;
  /** The orchestration span's ID. */
  spanId: string;
  /** The remote parent (a client span, a parent's sub-orchestration span, the previous execution). */
  parent: SpanContext | undefined;
}

/** The deterministic trace identity of one execution. */
export function executionTrace(
  instanceId: string,
  executionId: string,
  started: ExecutionStartedEvent | undefined,
): ExecutionTrace {
  const parent = parseTraceparent(started?.traceContext);
  return {
    traceId: parent?.traceId ?? digest(32, "trace", instanceId, executionId),
    spanId: digest(16, "orchestration", instanceId, executionId),
    parent,
  };
}

/** The context whose active span is the execution's orchestration span (children parent to it). */
export function orchestrationContext(t: ExecutionTrace): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: t.traceId,
    spanId: t.spanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** The deterministic span ID of a sub-orchestration call (its child's orchestration span's parent). */
export function subOrchestrationSpanId(instanceId: string, executionId: string, taskId: number): string {
  return digest(16, "sub-orchestration", instanceId, executionId, taskId);
}

/**
 * Gives a span the IDs it was promised. The OpenTelemetry API cannot choose IDs, so this sets the
 * SDK span's context field (the technique durabletask-go uses); other spans are left alone.
 */
function pinIds(span: Span, traceId: string, spanId: string): void {
  const sdkSpan = span as unknown as { _spanContext?: SpanContext };
  if (sdkSpan._spanContext) sdkSpan._spanContext = { ...sdkSpan._spanContext, traceId, spanId };
}

/** Marks a span failed: error status plus an exception event. */
export function recordFailure(span: Span, failure: FailureDetails): void {
  span.recordException({ name: failure.name, message: failure.message, stack: failure.stack });
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
}

/** A span that already happened, recorded with its real start and end times. */
export interface PastSpan {
  name: string;
  kind: SpanKind;
  start: Date | string;
  end: Date | string;
  parent: Context;
  attributes: Attributes;
  failure?: FailureDetails;
  /** IDs the span must have (others already name it as their parent). */
  ids?: { traceId: string; spanId: string };
}

/** Records a span retroactively. */
export function recordPastSpan(past: PastSpan): void {
  const span = tracer().startSpan(
    past.name,
    { kind: past.kind, startTime: new Date(past.start), attributes: past.attributes },
    past.parent,
  );
  if (past.ids) pinIds(span, past.ids.traceId, past.ids.spanId);
  if (past.failure) recordFailure(span, past.failure);
  span.end(new Date(past.end));
}
