/**
 * Coalesces a store's reads of single instance rows: every `getInstance` asked for in one batch
 * (one turn of the event loop, or one run of the microtask queue) is answered by one read per hub:
 * one query (`instance_id = ANY (…)`, up to `MAX_IDS` IDs) on PostgreSQL, one read transaction on
 * SQLite. A thousand clients each waiting for their instance (`waitForCompletion` reads the row
 * first) then cost one round trip or one transaction instead of a thousand.
 */

/** The most IDs one fetch asks for. */
const MAX_IDS = 1_000;

interface Waiter<Row> {
  resolve: (row: Row | undefined) => void;
  reject: (err: unknown) => void;
}

/** Batches reads of instance rows into calls of `fetch`. */
export class InstanceReads<Row extends { instance_id: string }> {
  /** Waiters by hub, then by instance ID. */
  private pending = new Map<string, Map<string, Waiter<Row>[]>>();
  private scheduled = false;

  /**
   * `fetch` reads the rows of `ids` (distinct) in `hub`; missing IDs have no row. `schedule` runs
   * the batch later: `setImmediate` (the default) gathers a whole turn, `queueMicrotask` only what
   * the current microtasks ask for, without a turn's delay.
   */
  constructor(
    private readonly fetch: (hub: string, ids: string[]) => Promise<Row[]>,
    private readonly schedule: (run: () => void) => void = setImmediate,
  ) {}

  /** The row of `instanceId` in `hub`, or undefined; read together with this batch's other reads. */
  read(hub: string, instanceId: string): Promise<Row | undefined> {
    return new Promise<Row | undefined>((resolve, reject) => {
      let byId = this.pending.get(hub);
      if (!byId) {
        byId = new Map();
        this.pending.set(hub, byId);
      }
      const waiters = byId.get(instanceId);
      if (waiters) waiters.push({ resolve, reject });
      else byId.set(instanceId, [{ resolve, reject }]);
      if (this.scheduled) return;
      this.scheduled = true;
      this.schedule(() => this.flush());
    });
  }

  /** Starts the reads asked for so far now (a closing store calls it before it closes). */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [hub, byId] of pending) {
      const ids = [...byId.keys()];
      for (let i = 0; i < ids.length; i += MAX_IDS) void this.answer(hub, ids.slice(i, i + MAX_IDS), byId);
    }
  }

  private async answer(hub: string, ids: string[], byId: Map<string, Waiter<Row>[]>): Promise<void> {
    let rows: Row[];
    try {
      rows = await this.fetch(hub, ids);
    } catch (err) {
      for (const id of ids) for (const w of byId.get(id) ?? []) w.reject(err);
      return;
    }
    const found = new Map(rows.map((row) => [row.instance_id, row]));
    for (const id of ids) for (const w of byId.get(id) ?? []) w.resolve(found.get(id));
  }
}
