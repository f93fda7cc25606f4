/**
 * The replay cache: executors of recently stepped instances, kept by the worker that committed
 * their last step. A new message then costs one incremental step instead of a replay of the whole
 * history. An entry is used only when the stored history is exactly as long as this worker left it
 * (same execution), so work done by another worker, a rewind or a restart always replays afresh.
 * Bounded (least recently used entries are dropped); idle instances cost nothing once evicted.
 */
import type { OrchestrationExecutor } from "../core/replay.js";

interface Entry {
  executor: OrchestrationExecutor;
  executionId: string;
  historyLength: number;
}

/** A size-bounded LRU map from instance ID to a warm executor. */
export class ReplayCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Maximum number of cached instances; 0 disables the cache. */
    readonly capacity: number,
  ) {}

  /** Number of cached instances. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Takes the executor for an instance out of the cache when it matches the leased state, so a
   * failed step can never leave a half-advanced executor behind.
   */
  take(instanceId: string, executionId: string, historyLength: number): OrchestrationExecutor | undefined {
    const entry = this.entries.get(instanceId);
    if (!entry) return undefined;
    this.entries.delete(instanceId);
    if (entry.executionId !== executionId || entry.historyLength !== historyLength) return undefined;
    return entry.executor;
  }

  /** Keeps the executor after its step committed, with the history length it left behind. */
  put(instanceId: string, executionId: string, historyLength: number, executor: OrchestrationExecutor): void {
    if (this.capacity === 0) return;
    this.entries.delete(instanceId);
    this.entries.set(instanceId, { executor, executionId, historyLength });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
