/**
 * Spans of an orchestration step, recorded once after its checkpoint commits: the orchestration
 * span when the execution ends, and sub-orchestration calls, timers, external events, entity calls
 * and lock waits when they complete, each from its history timestamps. Before the commit, new child executions (and
 * the next execution after continue-as-new) get the traceparent that continues this trace.
 */
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { Checkpoint } from "../core/records.js";
import type { StepFacts } from "./step-facts.js";
import {
  ATTR,
  executionTrace,
  formatTraceparent,
  orchestrationContext,
  recordPastSpan,
  subOrchestrationSpanId,
  tracingEnabled,
} from "./tracing.js";

/** Stamps the traceparent on the ExecutionStarted events this checkpoint creates. */
export function propagateTraceContext(facts: StepFacts, checkpoint: Checkpoint): void {
  const continued = checkpoint.messages.some(
    (m) => m.event.kind === "ExecutionStarted" && m.instanceId === facts.instanceId,
  );
  if (checkpoint.children.length === 0 && !continued) return;
  const t = executionTrace(facts.instanceId, facts.executionId, facts.started);
  for (const child of checkpoint.children) {
    const spanId = subOrchestrationSpanId(
      facts.instanceId,
      facts.executionId,
      child.parent?.taskScheduledId ?? -1,
    );
    child.started.traceContext = formatTraceparent(t.traceId, spanId);
  }
  for (const message of checkpoint.messages) {
    if (message.event.kind === "ExecutionStarted" && message.instanceId === facts.instanceId)
      message.event.traceContext = formatTraceparent(t.traceId, t.spanId);
  }
}

/** Records the spans that this committed step completed. */
export function traceStep(facts: StepFacts): void {
  if (!tracingEnabled()) return;
  const t = executionTrace(facts.instanceId, facts.executionId, facts.started);
  const parent = orchestrationContext(t);
  const base = { [ATTR.instanceId]: facts.instanceId, [ATTR.orchestrationName]: facts.name };
  for (const task of facts.finished) {
    if (task.kind !== "sub-orchestration") continue; // activity spans are recorded live by the worker
    recordPastSpan({
      name: `sub-orchestration:${task.name}`,
      kind: SpanKind.CLIENT,
      start: task.scheduledAt,
      end: task.finishedAt,
      parent,
      attributes: {
        ...base,
        [ATTR.taskName]: task.name,
        [ATTR.taskId]: task.taskId,
        "refrain.child_instance_id": task.childInstanceId ?? "",
      },
      failure: task.failure,
      ids: {
        traceId: t.traceId,
        spanId: subOrchestrationSpanId(facts.instanceId, facts.executionId, task.taskId),
      },
    });
  }
  for (const timer of facts.timersFired) {
    recordPastSpan({
      name: "timer",
      kind: SpanKind.INTERNAL,
      start: timer.createdAt,
      end: facts.now,
      parent,
      attributes: { [ATTR.taskId]: timer.timerId, "refrain.timer.fire_at": timer.fireAt, ...base },
    });
  }
  for (const call of facts.entityCalls) {
    recordPastSpan({
      name: `entity:${call.operation}`,
      kind: SpanKind.CLIENT,
      start: call.calledAt,
      end: call.finishedAt,
      parent,
      attributes: {
        ...base,
        [ATTR.entityId]: call.entityId,
        [ATTR.entityOperation]: call.operation,
        "refrain.entity.request_id": call.requestId,
      },
      failure: call.failure,
    });
  }
  for (const lock of facts.locksGranted) {
    recordPastSpan({
      name: "lock",
      kind: SpanKind.INTERNAL,
      start: lock.requestedAt,
      end: lock.grantedAt,
      parent,
      attributes: {
        ...base,
        "refrain.lock.critical_section_id": lock.criticalSectionId,
        "refrain.lock.entities": lock.lockSet,
      },
    });
  }
  for (const event of facts.eventsRaised) {
    recordPastSpan({
      name: `event:${event.name}`,
      kind: SpanKind.CONSUMER,
      start: event.raisedAt,
      end: facts.now,
      parent,
      attributes: { "refrain.event.name": event.name, ...base },
    });
  }
  const completion = facts.completion;
  if (!completion || !facts.started) return;
  recordPastSpan({
    name: `orchestration:${facts.name}`,
    kind: SpanKind.SERVER,
    start: facts.started.timestamp,
    end: facts.now,
    parent: t.parent ? trace.setSpanContext(ROOT_CONTEXT, t.parent) : ROOT_CONTEXT,
    attributes: { "refrain.execution_id": facts.executionId, "refrain.status": completion.status, ...base },
    failure: completion.failure,
    ids: { traceId: t.traceId, spanId: t.spanId },
  });
}
