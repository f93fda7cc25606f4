/**
 * The replay cache: a warm instance takes its next step without replaying history, and the
 * result is exactly what a cold replay produces.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { InstanceRecord } from "../../src/core/records.js";
import { OrchestrationExecutor } from "../../src/core/replay.js";
import { ReplayCache } from "../../src/dispatch/replay-cache.js";
import { type HistoryEvent, MemoryStore, type OrchestrationContext, TaskHub } from "../../src/index.js";

/** Runs a 30-step chain and reports how often the orchestrator function was (re)started. */
async function runChain(
  replayCacheSize: number,
): Promise<{ output: unknown; starts: number; kinds: string[] }> {
  const hub = new TaskHub({ store: new MemoryStore(), replayCacheSize });
  let starts = 0;
  const inc = hub.activity("Inc", async (n: number) => n + 1);
  const chain = hub.orchestrator("Chain", function* (ctx: OrchestrationContext<number>) {
    starts++;
    let n = ctx.input;
    for (let i = 0; i < 30; i++) n = yield* ctx.callActivity(inc, n);
    return n;
  });
  await hub.start();
  try {
    const id = await hub.client.startNew(chain, { input: 0 });
    const status = await hub.client.waitForCompletion(id, { timeoutMs: 30_000 });
    const history = await hub.store.getHistory(hub.name, id);
    return { output: status.output, starts, kinds: history.map((e: HistoryEvent) => e.kind) };
  } finally {
    await hub.stop();
  }
}

/** A Running instance row. */
function record(instanceId: string): InstanceRecord {
  return {
    instanceId,
    name: "Chain",
    executionId: "e1",
    runtimeStatus: "Running",
    createdAt: 0,
    lastUpdatedAt: 0,
  };
}

describe("replay cache", () => {
  test("a warm instance is not replayed, and cold replay gives the same history and output", async () => {
    const warm = await runChain(1_000);
    const cold = await runChain(0);
    assert.equal(warm.output, 30);
    assert.equal(cold.output, 30);
    assert.equal(warm.starts, 1, "with the cache the orchestrator runs from the start only once");
    assert.equal(cold.starts, 31, "without it every step replays from the start");
    assert.deepEqual(warm.kinds, cold.kinds);
  });

  test("an entry is used only for the same execution and history length, and only once", () => {
    const cache = new ReplayCache(2);
    const executor = new OrchestrationExecutor(function* () {}, { instanceId: "a" });
    const warm = (length: number) => ({
      executor,
      history: Array.from({ length }, () => ({}) as HistoryEvent),
      instance: record("a"),
    });
    cache.put("a", "e1", warm(5));
    assert.deepEqual(cache.known("a"), { executionId: "e1", length: 5 }, "what the lease may leave out");
    assert.equal(cache.take("a", "e1", 6), undefined, "history grew elsewhere: replay afresh");
    assert.equal(cache.known("a"), undefined);
    cache.put("a", "e1", warm(5));
    assert.equal(cache.take("a", "e2", 5), undefined, "another execution");
    cache.put("a", "e1", warm(5));
    assert.equal(cache.take("a", "e1", 5)?.executor, executor);
    assert.equal(cache.take("a", "e1", 5), undefined, "taken entries are gone until put back");
    cache.put("a", "e1", warm(5));
    assert.equal(
      cache.take("a", "e1")?.history.length,
      5,
      "a lease that left the history out matches by execution",
    );
  });

  test("the least recently used entry is evicted beyond capacity; capacity 0 keeps nothing", () => {
    const cache = new ReplayCache(2);
    const make = (id: string) => ({
      executor: new OrchestrationExecutor(function* () {}, { instanceId: id }),
      history: [{} as HistoryEvent],
      instance: record(id),
    });
    cache.put("a", "e", make("a"));
    cache.put("b", "e", make("b"));
    cache.put("c", "e", make("c"));
    assert.equal(cache.size, 2);
    assert.equal(cache.take("a", "e", 1), undefined);
    assert.ok(cache.take("c", "e", 1));
    const off = new ReplayCache(0);
    off.put("a", "e", make("a"));
    assert.equal(off.size, 0);
  });
});
