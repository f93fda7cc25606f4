/**
 * W8: entity signals. `size` one-way "add" signals to counting entities, measured from the send
 * until the entities have applied every one: sent by one orchestration (one checkpoint writes them
 * all) to one entity, and spread over 1,000 entities; and sent by the client (one call each, 64 in
 * flight) to one entity. The primary figure is signals per second to one entity.
 */
import type { TaskHub } from "refrain";
import { forEachLimited } from "../measure.js";
import { expectOutput, WAIT_MS, type Workload, type WorkloadRun } from "../workload.js";

/** Entities of the spread-out run. */
const SPREAD = 1000;
/** Client signals in flight at once. */
const CLIENT_CONCURRENCY = 64;

/** Sum of the Sink counters whose key starts with `prefix` (one or more pages). */
async function applied(hub: TaskHub, prefix: string): Promise<number> {
  let total = 0;
  let continuationToken: string | undefined;
  do {
    const page = await hub.client.listEntities({
      entityName: "Sink",
      keyPrefix: prefix,
      includeState: true,
      pageSize: 1000,
      continuationToken,
    });
    for (const e of page.entities) total += e.state as number;
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return total;
}

/** Polls until the Sinks under `prefix` applied `expected` signals; returns the seconds since `t0`. */
async function untilApplied(r: WorkloadRun, prefix: string, expected: number, t0: number): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const n = await applied(r.hub, prefix);
    if (n === expected) return (performance.now() - t0) / 1000;
    if (n > expected)
      throw new Error(`sinks '${prefix}*' applied ${n} signals, more than the ${expected} sent`);
    if (Date.now() > deadline) throw new Error(`sinks '${prefix}*' applied ${n} of ${expected} signals`);
    r.progress(`${prefix}: ${n}/${expected} signals applied`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends `signals` from one orchestration to `entities` sinks and times until all are applied. */
async function fromOrchestration(r: WorkloadRun, prefix: string, entities: number): Promise<number> {
  const t0 = performance.now();
  const id = await r.hub.client.startNew(r.fns.signaller, { input: { prefix, entities, signals: r.size } });
  expectOutput(await r.hub.client.waitForCompletion(id, { timeoutMs: WAIT_MS }), r.size);
  return untilApplied(r, prefix, r.size, t0);
}

export const w8: Workload = {
  id: "W8",
  title: "entity signals: 10,000 to one entity (and spread over 1,000), send → applied",
  unit: "signals/s",
  defaultSize: 10_000,
  warmupSize: (size) => Math.min(size, 2000),
  async run(r: WorkloadRun) {
    const one = await fromOrchestration(r, "one-", 1);
    const spread = await fromOrchestration(r, "spread-", Math.min(SPREAD, r.size));
    const t0 = performance.now();
    const sink = r.fns.sink.id("client-0");
    await forEachLimited(r.size, CLIENT_CONCURRENCY, () => r.hub.client.signalEntity(sink, "add"));
    const client = await untilApplied(r, "client-", r.size, t0);
    return {
      primary: r.size / one,
      metrics: {
        one_entity_signals_per_s: r.size / one,
        one_entity_s: one,
        spread_signals_per_s: r.size / spread,
        spread_s: spread,
        spread_entities: Math.min(SPREAD, r.size),
        client_signals_per_s: r.size / client,
        client_s: client,
        signals: r.size,
      },
    };
  },
};
