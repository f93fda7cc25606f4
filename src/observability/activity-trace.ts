/**
 * The live span around one activity invocation, parented to its instance's orchestration span,
 * and active while the activity runs so that spans the activity creates nest under it. The
 * instance's trace may continue a client's or a parent's trace, named in its ExecutionStarted
 * event: it is read once per execution (only while tracing is enabled) and kept in a small cache.
 */
import { context, SpanKind, trace } from "@opentelemetry/api";
import type {
  ExecutionStartedEvent,
  HistoryEvent,
  TaskCompletedEvent,
  TaskFailedEvent,
} from "../core/events.js";
import type { ActivityTask, Store } from "../store/store.js";
import {
  ATTR,
  type ExecutionTrace,
  executionTrace,
  orchestrationContext,
  recordFailure,
  tracer,
  tracingEnabled,
} from "./tracing.js";

/** Executions whose trace identity a worker remembers. */
const CACHE_SIZE = 1_000;

/** Runs activity invocations inside their spans. */
export class ActivityTracing {
  private readonly traces = new Map<string, { trace: ExecutionTrace; name: string }>();

  constructor(
    private readonly store: Store,
    private readonly hub: string,
  ) {}

  /** Runs `invoke` inside the activity's span; the span fails when the result is a TaskFailed event. */
  async run(
    task: ActivityTask,
    invoke: () => Promise<TaskCompletedEvent | TaskFailedEvent>,
  ): Promise<TaskCompletedEvent | TaskFailedEvent> {
    if (!tracingEnabled()) return invoke();
    const { trace: t, name } = await this.executionTrace(task);
    const span = tracer().startSpan(
      `activity:${task.name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [ATTR.instanceId]: task.instanceId,
          [ATTR.orchestrationName]: name,
          [ATTR.taskName]: task.name,
          [ATTR.taskId]: task.taskId,
          [ATTR.attempt]: task.attempt,
          "refrain.delivery_count": task.deliveryCount,
        },
      },
      orchestrationContext(t),
    );
    try {
      const result = await context.with(trace.setSpan(context.active(), span), invoke);
      if (result.kind === "TaskFailed") recordFailure(span, result.failure);
      return result;
    } finally {
      span.end();
    }
  }

  private async executionTrace(task: ActivityTask): Promise<{ trace: ExecutionTrace; name: string }> {
    const key = `${task.instanceId}\u0000${task.executionId}`;
    const cached = this.traces.get(key);
    if (cached) return cached;
    const history = await this.store.getHistory(this.hub, task.instanceId).catch((): HistoryEvent[] => []);
    const started = history.find(
      (e): e is ExecutionStartedEvent => e.kind === "ExecutionStarted" && e.executionId === task.executionId,
    );
    const t = {
      trace: executionTrace(task.instanceId, task.executionId, started),
      name: started?.name ?? "",
    };
    this.traces.set(key, t);
    if (this.traces.size > CACHE_SIZE) {
      const oldest = this.traces.keys().next().value;
      if (oldest !== undefined) this.traces.delete(oldest);
    }
    return t;
  }
}
