/**
 * Collects the calls of one turn of the event loop, per hub, and hands them over in batches on the
 * next turn: the grouping under the PostgreSQL store's group creation and group append.
 */

/** Queues items per hub and sends them, at most `maxBatch` at a time, one turn later. */
export class TurnQueue<P> {
  private pending = new Map<string, P[]>();
  private scheduled = false;

  constructor(
    private readonly maxBatch: number,
    /** Sends one batch; settles its items itself (never throws). */
    private readonly send: (hub: string, batch: P[]) => void,
  ) {}

  /** Queues `item` for `hub`; it is sent on the next turn (or at `flush`). */
  add(hub: string, item: P): void {
    const list = this.pending.get(hub);
    if (list) list.push(item);
    else this.pending.set(hub, [item]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends everything queued now (also before the store closes). */
  flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    for (const [hub, list] of all) {
      for (let i = 0; i < list.length; i += this.maxBatch) this.send(hub, list.slice(i, i + this.maxBatch));
    }
  }
}

/**
 * The positions of `ids` in ID order, equal IDs in their original order: batches sent in this
 * order lock rows in one order (so concurrent batches cannot deadlock), and the calls of one
 * instance keep the order they were made in.
 */
export function idOrder(ids: readonly string[]): number[] {
  const order = ids.map((_, i) => i);
  return order.sort((x, y) => (ids[x]! < ids[y]! ? -1 : ids[x]! > ids[y]! ? 1 : x - y));
}
