/**
 * Coalesces the PostgreSQL store's reads of single instance rows: every `getInstance` asked for
 * in one turn of the event loop is answered by one query per hub (`instance_id = ANY (…)`, up to
 * `MAX_IDS` IDs each). A thousand clients each waiting for their instance (`waitForCompletion`
 * reads the row first) then cost one round trip instead of a thousand, which would otherwise queue
 * in the connection pool in front of the engine's own commits.
 */
import type { InstanceRow } from "./operations.js";

/** The most IDs one query asks for. */
const MAX_IDS = 1_000;

interface Waiter {
  resolve: (row: InstanceRow | undefined) => void;
  reject: (err: unknown) => void;
}

/** Batches reads of instance rows into queries of `fetch`. */
export class InstanceReads {
  /** Waiters by hub, then by instance ID. */
  private pending = new Map<string, Map<string, Waiter[]>>();
  private scheduled = false;

  /** `fetch` reads the rows of `ids` (distinct) in `hub`; missing IDs have no row. */
  constructor(private readonly fetch: (hub: string, ids: string[]) => Promise<InstanceRow[]>) {}

  /** The row of `instanceId` in `hub`, or undefined; read together with this turn's other reads. */
  read(hub: string, instanceId: string): Promise<InstanceRow | undefined> {
    return new Promise<InstanceRow | undefined>((resolve, reject) => {
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
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [hub, byId] of pending) {
      const ids = [...byId.keys()];
      for (let i = 0; i < ids.length; i += MAX_IDS) void this.answer(hub, ids.slice(i, i + MAX_IDS), byId);
    }
  }

  private async answer(hub: string, ids: string[], byId: Map<string, Waiter[]>): Promise<void> {
    let rows: InstanceRow[];
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
