/**
 * The replay cache: executors of recently stepped instances, with the history they have seen,
 * kept by the worker that committed their last step. A new message then costs one incremental
 * step instead of a replay of the whole history, and the lease need not read that history again
 * (`known`). An entry is used only when the stored history is exactly as long as this worker left
 * it (same execution), so work done by another worker, a rewind or a restart always replays
 * afresh. Bounded (least recently used entries are dropped); idle instances cost nothing once
 * evicted.
 */
import type { HistoryEvent } from "../core/events.js";
import type { InstanceRecord } from "../core/records.js";
import type { OrchestrationExecutor } from "../core/replay.js";
import type { KnownHistory } from "../store/store.js";

/** A warm instance: its executor and the history it has seen (owned by the cache until taken). */
export interface WarmInstance {
  executor: OrchestrationExecutor;
  history: HistoryEvent[];
  /** The instance row as this worker's last commit left it. */
  instance: InstanceRecord;
}

interface Entry extends WarmInstance {
  executionId: string;
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

  /** The history this worker holds for the instance, for the lease to leave out. */
  known(instanceId: string): KnownHistory | undefined {
    const entry = this.entries.get(instanceId);
    return entry ? { executionId: entry.executionId, length: entry.history.length } : undefined;
  }

  /**
   * Takes the instance's entry out of the cache when it matches the leased state (its execution,
   * and `historyLength` when the lease read the history), so a failed step can never leave a
   * half-advanced executor behind.
   */
  take(instanceId: string, executionId: string, historyLength?: number): WarmInstance | undefined {
    const entry = this.entries.get(instanceId);
    if (!entry) return undefined;
    this.entries.delete(instanceId);
    if (entry.executionId !== executionId) return undefined;
    if (historyLength !== undefined && entry.history.length !== historyLength) return undefined;
    return entry;
  }

  /** Keeps the executor after its step committed, with the whole history it has now seen. */
  put(instanceId: string, executionId: string, warm: WarmInstance): void {
    if (this.capacity === 0) return;
    this.entries.delete(instanceId);
    const { executor, history, instance } = warm;
    this.entries.set(instanceId, { executor, history, instance, executionId });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
