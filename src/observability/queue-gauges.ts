/**
 * The queue gauges of a hub, read from the store when the application's metric reader collects
 * (never on a timer of their own): `refrain.queue.depth`, the due inbox messages (orchestrations
 * and entities) and activity tasks, and `refrain.queue.oldest_age`, how long the oldest of each
 * has been due. Both carry `refrain.task_hub` and `refrain.queue` ("messages" or "activities").
 * Without a registered meter provider nothing is ever read.
 */
import { type BatchObservableCallback, metrics, type ObservableGauge } from "@opentelemetry/api";
import type { Store } from "../store/store.js";

/** Observable gauges of one hub's queues, registered from `hub.start()` until `hub.stop()`. */
export class QueueGauges {
  private readonly depth: ObservableGauge;
  private readonly oldestAge: ObservableGauge;
  private readonly callback: BatchObservableCallback;

  constructor(store: Store, hub: string) {
    const meter = metrics.getMeter("refrain");
    this.depth = meter.createObservableGauge("refrain.queue.depth", {
      description: "Due work not yet done: inbox messages or activity tasks, by refrain.queue",
      unit: "{item}",
    });
    this.oldestAge = meter.createObservableGauge("refrain.queue.oldest_age", {
      description: "How long the oldest due inbox message or activity task has waited, by refrain.queue",
      unit: "ms",
    });
    this.callback = async (result) => {
      const now = Date.now();
      let stats: Awaited<ReturnType<Store["queueStats"]>>;
      try {
        stats = await store.queueStats(hub, now);
      } catch {
        return; // the store is closing or unreachable: report nothing rather than zeros
      }
      const messages = { "refrain.task_hub": hub, "refrain.queue": "messages" };
      const activities = { "refrain.task_hub": hub, "refrain.queue": "activities" };
      result.observe(this.depth, stats.messages, messages);
      result.observe(this.depth, stats.activities, activities);
      result.observe(this.oldestAge, age(stats.oldestMessageAt, now), messages);
      result.observe(this.oldestAge, age(stats.oldestActivityAt, now), activities);
    };
    meter.addBatchObservableCallback(this.callback, [this.depth, this.oldestAge]);
  }

  /** Stops reporting (the hub is stopping). */
  stop(): void {
    metrics.getMeter("refrain").removeBatchObservableCallback(this.callback, [this.depth, this.oldestAge]);
  }
}

/** Milliseconds since `since`, or 0 when nothing waits. */
function age(since: number | undefined, now: number): number {
  return since === undefined ? 0 : Math.max(0, now - since);
}
