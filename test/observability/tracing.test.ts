/**
 * Traces: the span tree of one instance that calls an activity, waits on a timer, calls a
 * sub-orchestration and retries a failing activity, with its hub replaced by another on the same
 * SQLite file in the middle. One trace, correct parents, one span per real operation (none for
 * replayed steps), the failure recorded on the failing attempt, and a client span as the root.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { TaskHub } from "../../src/hub.js";
import { createLogger } from "../../src/observability/logging.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { installTracing } from "./otel.js";

const exporter = installTracing();
const dir = mkdtempSync(join(tmpdir(), "refrain-tracing-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A hub on the shared SQLite file with the test's functions registered. */
function makeHub(workerId: string): TaskHub {
  const hub = new TaskHub({
    store: new SqliteStore({ path: join(dir, "traces.db") }),
    workerId,
    maxIdleMs: 50,
    stopGraceMs: 200,
    logger: createLogger({ level: "silent" }),
    orchestrationLog: () => {},
  });
  hub.activity("Step", (n: number) => {
    trace.getTracer("app").startSpan("inside-step").end(); // nests under the activity span
    return n + 1;
  });
  hub.activity("Flaky", (n: number, ctx) => {
    if (ctx.attempt === 1) throw new Error("flaky failure");
    return n * 10;
  });
  hub.orchestrator("Child", function* (ctx) {
    return yield* ctx.callActivity<number>("Step", ctx.getInput<number>());
  });
  hub.orchestrator("Chain", function* (ctx) {
    const a = yield* ctx.callActivity<number>("Step", 1);
    yield ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + 600));
    const b = yield* ctx.callSubOrchestrator<number>("Child", a);
    return yield* ctx.callActivityWithRetry<number>(
      "Flaky",
      { maxNumberOfAttempts: 2, firstRetryIntervalMs: 20 },
      b,
    );
  });
  return hub;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

describe("tracing", () => {
  test("one trace per instance with correct parents across a hub restart", async () => {
    const a = makeHub("worker-A");
    await a.start();
    const clientSpan = trace.getTracer("app").startSpan("client-request");
    const id = await context.with(trace.setSpan(context.active(), clientSpan), () =>
      a.client.startNew("Chain", { input: null }),
    );
    clientSpan.end();
    await until("the timer to be created on hub A", async () =>
      (await a.store.getHistory("default", id)).some((e) => e.kind === "TimerCreated"),
    );
    await a.stop();
    const b = makeHub("worker-B");
    let startedAt: string | undefined;
    await b.start();
    try {
      const done = await b.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.runtimeStatus, "Completed");
      assert.equal(done.output, 30);
      startedAt = (await b.store.getHistory("default", id)).find(
        (e) => e.kind === "ExecutionStarted",
      )?.timestamp;
    } finally {
      await b.stop();
    }

    const spans = exporter.getFinishedSpans();
    const names = spans.map((s) => s.name).sort();
    assert.deepEqual(names, [
      "activity:Flaky",
      "activity:Flaky",
      "activity:Step",
      "activity:Step",
      "client-request",
      "inside-step",
      "inside-step",
      "orchestration:Chain",
      "orchestration:Child",
      "sub-orchestration:Child",
      "timer",
      "timer",
    ]);
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, "one trace");
    assert.equal(new Set(spans.map((s) => s.spanContext().spanId)).size, spans.length, "unique span IDs");

    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const root = spans.find((s) => s.name === "orchestration:Chain")!;
    assert.equal(parentOf(root), clientSpan.spanContext().spanId, "the client span is the parent");
    assert.equal(root.attributes["refrain.instance_id"], id);
    assert.equal(root.attributes["refrain.orchestration.name"], "Chain");
    const startMs = root.startTime[0] * 1000 + root.startTime[1] / 1e6;
    assert.equal(Math.round(startMs), Date.parse(startedAt ?? ""), "it starts when the instance started");

    const subCall = spans.find((s) => s.name === "sub-orchestration:Child")!;
    const child = spans.find((s) => s.name === "orchestration:Child")!;
    assert.equal(parentOf(subCall), root.spanContext().spanId);
    assert.equal(parentOf(child), subCall.spanContext().spanId, "the child continues the parent's trace");
    assert.equal(child.attributes["refrain.instance_id"], `${id}:2`);

    const steps = spans.filter((s) => s.name === "activity:Step");
    const stepParents = steps.map((s) => byId.get(parentOf(s) ?? "")?.name).sort();
    assert.deepEqual(stepParents, ["orchestration:Chain", "orchestration:Child"]);
    for (const inside of spans.filter((s) => s.name === "inside-step")) {
      assert.equal(byId.get(parentOf(inside) ?? "")?.name, "activity:Step", "activity code nests under it");
    }

    const flaky = spans.filter((s) => s.name === "activity:Flaky");
    const failed = flaky.find((s) => s.attributes["refrain.attempt"] === 1)!;
    const retried = flaky.find((s) => s.attributes["refrain.attempt"] === 2)!;
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.status.message, "flaky failure");
    assert.equal(failed.events[0]?.name, "exception");
    assert.equal(retried.status.code, SpanStatusCode.UNSET);
    for (const s of [...flaky, ...spans.filter((x) => x.name === "timer")]) {
      assert.equal(parentOf(s), root.spanContext().spanId, `${s.name} hangs under the orchestration`);
    }
  });

  test("entity calls and lock waits get spans under the orchestration; a failed call records its error", async () => {
    exporter.reset();
    const hub = makeHub("worker-E");
    hub.entity<number>("Meter", (ctx) => {
      if (ctx.operationName === "fail") throw new Error("meter broken");
      ctx.setState(ctx.getState(() => 0) + 1);
      return ctx.getState();
    });
    hub.orchestrator("UseMeter", function* (ctx) {
      const lock = yield* ctx.lock(["@meter@a"]);
      yield ctx.callEntity("@meter@a", "tick");
      lock.release();
      try {
        yield ctx.callEntity("@meter@b", "fail");
      } catch {
        // recorded on the span
      }
      return "ok";
    });
    await hub.start();
    try {
      const id = await hub.client.startNew("UseMeter");
      assert.equal((await hub.client.waitForCompletion(id, { timeoutMs: 10_000 })).output, "ok");
    } finally {
      await hub.stop();
    }
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      "entity:fail",
      "entity:tick",
      "lock",
      "orchestration:UseMeter",
    ]);
    const root = spans.find((s) => s.name === "orchestration:UseMeter")!;
    for (const s of spans.filter((x) => x !== root)) {
      assert.equal(parentOf(s), root.spanContext().spanId, `${s.name} hangs under the orchestration`);
    }
    const tick = spans.find((s) => s.name === "entity:tick")!;
    assert.equal(tick.attributes["refrain.entity.id"], "@meter@a");
    assert.equal(tick.attributes["refrain.entity.operation"], "tick");
    assert.deepEqual(spans.find((s) => s.name === "lock")!.attributes["refrain.lock.entities"], ["@meter@a"]);
    const failed = spans.find((s) => s.name === "entity:fail")!;
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.status.message, "meter broken");
  });

  test("continue-as-new stays in the trace; external events get spans", async () => {
    exporter.reset();
    const hub = makeHub("worker-C");
    hub.orchestrator("Loop", function* (ctx) {
      const round = ctx.getInput<number>();
      yield* ctx.waitForExternalEvent("Go");
      if (round === 1) {
        ctx.continueAsNew(2);
        return undefined;
      }
      return round;
    });
    await hub.start();
    try {
      const id = await hub.client.startNew("Loop", { input: 1 });
      await hub.client.raiseEvent(id, "Go");
      await until("the second execution", async () => {
        const history = await hub.store.getHistory("default", id);
        return history.some((e) => e.kind === "ExecutionStarted" && e.input === "2");
      });
      await hub.client.raiseEvent(id, "Go");
      assert.equal((await hub.client.waitForCompletion(id, { timeoutMs: 10_000 })).output, 2);
    } finally {
      await hub.stop();
    }
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      "event:Go",
      "event:Go",
      "orchestration:Loop",
      "orchestration:Loop",
    ]);
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, "one trace");
    const [first, second] = spans.filter((s) => s.name === "orchestration:Loop");
    assert.equal(first!.attributes["refrain.status"], "ContinuedAsNew");
    assert.equal(parentOf(second!), first!.spanContext().spanId, "the next execution continues the first");
  });
});
