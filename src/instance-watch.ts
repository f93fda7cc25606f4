/**
 * Status-change watchers of one client: a single store subscription, shared by every pending
 * `waitForCompletion`, that wakes only the waiters of the instance that changed. (One
 * subscription per waiter would run every waiter's listener on every change: quadratic with many
 * concurrent waits.) The subscription exists while at least one waiter does.
 */
import type { RuntimeStatus } from "./core/events.js";
import type { Store } from "./store/store.js";

/**
 * Wakes the waiters of an instance whenever the store reports that its status changed (with the
 * new status), and every waiter when another process changed the store in ways it cannot tell
 * (with undefined: look again).
 */
export class InstanceWatch {
  private readonly waiters = new Map<string, Set<(status: RuntimeStatus | undefined) => void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly hub: string,
  ) {}

  /**
   * Calls `onChange` with the new status at every status change of `instanceId` (undefined: it may
   * have changed elsewhere), until the returned function is called.
   */
  watch(instanceId: string, onChange: (status: RuntimeStatus | undefined) => void): () => void {
    this.unsubscribe ??= this.store.subscribe(this.hub, (n) => {
      if (n.kind === "external-change") {
        for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter(undefined);
        return;
      }
      if (n.kind !== "instance-updated") return;
      for (const waiter of this.waiters.get(n.instanceId) ?? []) waiter(n.runtimeStatus);
    });
    let set = this.waiters.get(instanceId);
    if (!set) {
      set = new Set();
      this.waiters.set(instanceId, set);
    }
    const entry = (status: RuntimeStatus | undefined): void => onChange(status);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.waiters.get(instanceId) === set) this.waiters.delete(instanceId);
      if (this.waiters.size === 0) {
        this.unsubscribe?.();
        this.unsubscribe = undefined;
      }
    };
  }
}
