/**
 * Metrics: instances started and ended by name and status, activity and checkpoint durations,
 * replay cache hits and misses, entity operations and the queue gauges, read through an in-memory
 * metric reader.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DataPoint, Histogram } from "@opentelemetry/sdk-metrics";
import { TaskHub } from "../../src/hub.js";
import { createLogger } from "../../src/observability/logging.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { installMetrics } from "./otel.js";

const reader = installMetrics();

/** The data points of one metric in the latest collection. */
async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
  const exporter = await reader.collect();
  const latest = exporter.getMetrics().at(-1);
  const metric = latest?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
}

function sum(list: DataPoint<number | Histogram>[], filter: (a: Record<string, unknown>) => boolean): number {
  return list
    .filter((p) => filter(p.attributes))
    .reduce((total, p) => total + (typeof p.value === "number" ? p.value : p.value.count), 0);
}

describe("metrics", () => {
  test("instances, activities, checkpoints and the replay cache are counted", async () => {
    const hub = new TaskHub({
      store: new MemoryStore(),
      logger: createLogger({ level: "silent" }),
      orchestrationLog: () => {},
    });
    hub.activity("Add", ([a, b]: [number, number]) => a + b);
    hub.activity("Fail", () => {
      throw new Error("no");
    });
    hub.orchestrator("Sum", function* (ctx) {
      const x = yield* ctx.callActivity<number>("Add", [1, 2]);
      return yield* ctx.callActivity<number>("Add", [x, 3]);
    });
    hub.orchestrator("Doomed", function* (ctx) {
      return yield* ctx.callActivity("Fail");
    });
    // Started before the workers: its first step is leased, and misses the replay cache.
    const early = await hub.client.startNew("Sum", { input: null });
    await hub.start();
    try {
      const ok = await hub.client.startNew("Sum", { input: null });
      const bad = await hub.client.startNew("Doomed", { input: null });
      assert.equal((await hub.client.waitForCompletion(early, { timeoutMs: 10_000 })).output, 6);
      assert.equal((await hub.client.waitForCompletion(ok, { timeoutMs: 10_000 })).output, 6);
      assert.equal((await hub.client.waitForCompletion(bad, { timeoutMs: 10_000 })).runtimeStatus, "Failed");
    } finally {
      await hub.stop();
    }
    const name = (n: string) => (a: Record<string, unknown>) => a["refrain.orchestration.name"] === n;
    assert.equal(sum(await points("refrain.instances.started"), name("Sum")), 2);
    const ended = await points("refrain.instances.ended");
    assert.equal(
      sum(ended, (a) => name("Sum")(a) && a["refrain.status"] === "Completed"),
      2,
    );
    assert.equal(
      sum(ended, (a) => name("Doomed")(a) && a["refrain.status"] === "Failed"),
      1,
    );

    const activities = await points("refrain.activity.duration");
    assert.equal(
      sum(activities, (a) => a["refrain.task.name"] === "Add" && a["refrain.failed"] === false),
      4,
    );
    assert.equal(
      sum(activities, (a) => a["refrain.task.name"] === "Fail" && a["refrain.failed"] === true),
      1,
    );

    const steps = sum(await points("refrain.checkpoint.duration"), name("Sum"));
    assert.ok(steps >= 6, `one checkpoint per step (got ${steps})`);
    const lookups = await points("refrain.replay_cache.lookups");
    assert.ok(
      sum(lookups, (a) => a["refrain.cache_hit"] === true) >= 2,
      "later steps reuse the warm executor",
    );
    assert.ok(
      sum(lookups, (a) => a["refrain.cache_hit"] === false) >= 1,
      "a leased first step misses (a first step run at creation needs no lookup)",
    );
  });

  test("queue gauges report due messages and activity tasks and the age of the oldest, until stop", async () => {
    const store = new MemoryStore();
    let reads = 0;
    const queueStats = store.queueStats.bind(store);
    store.queueStats = (hub, now) => {
      reads++;
      return queueStats(hub, now);
    };
    const hub = new TaskHub({
      name: "gauged",
      store,
      logger: createLogger({ level: "silent" }),
      acceptUnregisteredNames: true,
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let blocked = false;
    const block = hub.activity("Block", async () => {
      blocked = true;
      await gate;
    });
    hub.orchestrator("Waits", function* (ctx) {
      yield* ctx.callActivity(block);
    });
    await hub.start();
    const mine = (queue: string) => (a: Record<string, unknown>) =>
      a["refrain.task_hub"] === "gauged" && a["refrain.queue"] === queue;
    try {
      // "Nobody" is served by no process: its start message stays due.
      await hub.client.startNew("Nobody");
      const id = await hub.client.startNew("Waits");
      const deadline = Date.now() + 10_000;
      while (!blocked) {
        assert.ok(Date.now() < deadline, "timed out");
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 30));
      const depth = await points("refrain.queue.depth");
      assert.equal(sum(depth, mine("messages")), 1);
      assert.equal(sum(depth, mine("activities")), 1, "a leased, running task is still due work");
      const age = await points("refrain.queue.oldest_age");
      assert.ok(sum(age, mine("messages")) >= 30, "the unserved start has waited at least 30 ms");
      assert.ok(sum(age, mine("activities")) >= 0);
      release();
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(sum(await points("refrain.queue.depth"), mine("activities")), 0);
    } finally {
      release();
      await hub.stop();
    }
    const readsAtStop = reads;
    await points("refrain.queue.depth");
    assert.equal(reads, readsAtStop, "a stopped hub's gauges read nothing");
  });

  test("entity operations are counted by entity name and outcome; batches are timed", async () => {
    const hub = new TaskHub({ store: new MemoryStore(), logger: createLogger({ level: "silent" }) });
    hub.entity<number>("Tally", (ctx) => {
      if (ctx.operationName === "bad") throw new Error("no");
      ctx.setState(ctx.getState(() => 0) + 1);
    });
    await hub.start();
    try {
      for (let i = 0; i < 5; i++) await hub.client.signalEntity("@tally@t", "add");
      await hub.client.signalEntity("@tally@t", "bad");
      const deadline = Date.now() + 10_000;
      while (sum(await points("refrain.entity.operations"), () => true) < 6) {
        assert.ok(Date.now() < deadline, "timed out");
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await hub.stop();
    }
    const ops = await points("refrain.entity.operations");
    const tally = (failed: boolean) => (a: Record<string, unknown>) =>
      a["refrain.entity.name"] === "tally" && a["refrain.failed"] === failed;
    assert.equal(sum(ops, tally(false)), 5);
    assert.equal(sum(ops, tally(true)), 1);
    const batches = sum(
      await points("refrain.entity.batch.duration"),
      (a) => a["refrain.entity.name"] === "tally",
    );
    assert.ok(batches >= 1 && batches <= 6, `between one batch and one per operation (got ${batches})`);
  });
});
