/**
 * Leasing ahead for an idle orchestration worker (see `Store.leaseOrchestrationsAhead`). When the
 * store's next due work is at most `windowMs` away, the worker leases the instances that come due
 * within the window, a batch per idle turn, and holds them; its work loop then takes each one at
 * its due time, so the step starts without a lease on its path. Ten thousand timers due at one
 * instant have their leases taken in the quiet second before, not between their steps.
 *
 * New work for a held instance (a message that arrived meanwhile) makes it due at once: `expedite`.
 * The messages a step consumes are read again when it is taken (by the dispatcher), so a message
 * that arrived while the instance was held is never overtaken by the one it was leased for.
 */

/** How a look-ahead gets and orders its items. */
export interface LookAheadOptions<T> {
  /** How far ahead of their due time items are leased (> 0). */
  windowMs: number;
  /** Most items held at once. */
  capacity: number;
  /** Most items leased per idle turn. */
  batch: number;
  /** Leases up to `max` items coming due within the window. */
  lease: (max: number) => Promise<T[]>;
  /** When an item comes due. */
  dueAt: (item: T) => number;
  /** The item's instance ID. */
  key: (item: T) => string;
  /** The store's next due time; work this look-ahead holds is not in it (its leases outlast it). */
  storeDue: () => Promise<number | undefined>;
}

interface Entry<T> {
  at: number;
  item: T;
  taken: boolean;
}

/** Items leased ahead of their due time, in due order (see the module comment). */
export class LookAhead<T> {
  /** Held entries in due order from `head` on; taken ones are skipped. */
  private entries: Entry<T>[] = [];
  private head = 0;
  private readonly byKey = new Map<string, Entry<T>>();
  /** Entries made due now by `expedite`, taken before the others. */
  private expedited: Entry<T>[] = [];

  constructor(private readonly options: LookAheadOptions<T>) {}

  /** Items held. */
  get size(): number {
    return this.byKey.size;
  }

  /** Up to `max` held items due at `now` (expedited ones first), in due order; no longer held. */
  takeDue(max: number, now = Date.now()): T[] {
    const out: T[] = [];
    while (out.length < max && this.expedited.length > 0) this.take(this.expedited.shift()!, out);
    while (out.length < max && this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (!entry.taken && entry.at > now) break;
      this.head++;
      if (!entry.taken) this.take(entry, out);
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Makes the held item of `key` due now; false when none is held. */
  expedite(key: string): boolean {
    const entry = this.byKey.get(key);
    if (!entry) return false;
    this.expedited.push(entry);
    return true;
  }

  /** Every held item, no longer held (the worker stops: their leases are to be released). */
  takeAll(): T[] {
    const out: T[] = [];
    for (const entry of this.byKey.values()) this.take(entry, out);
    this.entries = [];
    this.head = 0;
    this.expedited = [];
    return out;
  }

  /**
   * For an idle work loop: the time it should wake at. Leases a batch ahead first when the store's
   * next due work is within the window and there is room; after a batch it answers "now", so the
   * loop comes back at once for the next. Far-off work is answered `windowMs` early.
   */
  async nextDue(): Promise<number | undefined> {
    const { windowMs, capacity, batch } = this.options;
    let due = await this.options.storeDue();
    const now = Date.now();
    const room = capacity - this.size;
    if (due !== undefined && due > now && room > 0) {
      if (due - now <= windowMs) {
        const items = await this.options.lease(Math.min(batch, room));
        this.add(items);
        if (items.length > 0) return Date.now();
      } else {
        due -= windowMs;
      }
    }
    const first = this.firstAt();
    if (first === undefined) return due;
    return due === undefined ? first : Math.min(due, first);
  }

  private take(entry: Entry<T>, out: T[]): void {
    if (entry.taken) return;
    entry.taken = true;
    this.byKey.delete(this.options.key(entry.item));
    out.push(entry.item);
  }

  private add(items: readonly T[]): void {
    let ordered = true;
    for (const item of items) {
      const entry: Entry<T> = { at: this.options.dueAt(item), item, taken: false };
      const last = this.entries[this.entries.length - 1];
      if (last && last.at > entry.at) ordered = false;
      this.entries.push(entry);
      this.byKey.set(this.options.key(item), entry);
    }
    if (!ordered) {
      this.entries = this.entries.slice(this.head).sort((a, b) => a.at - b.at);
      this.head = 0;
    }
  }

  /** The due time of the first held item, if any. */
  private firstAt(): number | undefined {
    if (this.expedited.some((e) => !e.taken)) return Date.now();
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (!entry.taken) return entry.at;
    }
    return undefined;
  }
}
