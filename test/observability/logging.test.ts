/**
 * Logs: the built-in logger's formats, levels and environment settings, the pino adapter, the
 * lifecycle lines of a running instance (each carrying its instanceId and orchestration name),
 * and `ctx.log` writing each line once although every step replays the orchestrator.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskHub } from "../../src/hub.js";
import { createLogger, fromPino } from "../../src/observability/logging.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { eventually } from "../hub/fixtures.js";

type Line = Record<string, unknown> & { level: string; msg: string };

/** A debug-level JSON logger that keeps parsed lines. */
function jsonLines(): { lines: Line[]; logger: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  const logger = createLogger({ level: "debug", format: "json", write: (l) => lines.push(JSON.parse(l)) });
  return { lines, logger };
}

describe("engine logger", () => {
  test("JSON lines parse and carry time, level, msg and the fields", () => {
    const raw: string[] = [];
    const logger = createLogger({ level: "info", format: "json", write: (l) => raw.push(l) });
    logger.debug("hidden", { instanceId: "x" });
    logger.info("instance started", { instanceId: "abc", name: "Chain" });
    logger.error("boom", { error: new Error("bad") });
    assert.equal(raw.length, 2, "debug is below the level");
    const first = JSON.parse(raw[0]!);
    assert.equal(first.level, "info");
    assert.equal(first.msg, "instance started");
    assert.equal(first.instanceId, "abc");
    assert.ok(!Number.isNaN(Date.parse(first.time)));
    assert.equal(JSON.parse(raw[1]!).error.message, "bad");
  });

  test("pretty lines are one line of key=value pairs", () => {
    const raw: string[] = [];
    const logger = createLogger({ level: "debug", format: "pretty", write: (l) => raw.push(l) });
    logger.warn("activity failed", { instanceId: "abc", error: "two words", attempt: 2 });
    assert.match(raw[0]!, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}refrain: activity failed instanceId=abc/);
    assert.match(raw[0]!, /error="two words" attempt=2$/);
  });

  test("REFRAIN_LOG_LEVEL and REFRAIN_LOG_FORMAT configure the default; warn is the default level", () => {
    const saved = { level: process.env.REFRAIN_LOG_LEVEL, format: process.env.REFRAIN_LOG_FORMAT };
    try {
      const raw: string[] = [];
      delete process.env.REFRAIN_LOG_LEVEL;
      process.env.REFRAIN_LOG_FORMAT = "json";
      const quiet = createLogger({ write: (l) => raw.push(l) });
      quiet.info("not shown");
      quiet.warn("shown");
      process.env.REFRAIN_LOG_LEVEL = "debug";
      createLogger({ write: (l) => raw.push(l) }).debug("debug shown");
      assert.deepEqual(
        raw.map((l) => JSON.parse(l).msg),
        ["shown", "debug shown"],
      );
    } finally {
      for (const [key, value] of [
        ["REFRAIN_LOG_LEVEL", saved.level],
        ["REFRAIN_LOG_FORMAT", saved.format],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test("fromPino passes (fields, message) to a pino-compatible logger", () => {
    const calls: unknown[][] = [];
    const record = (level: string) => (fields: Record<string, unknown>, message: string) => {
      calls.push([level, fields, message]);
    };
    const logger = fromPino({
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    });
    logger.info("instance started", { instanceId: "abc" });
    logger.error("no fields");
    assert.deepEqual(calls, [
      ["info", { instanceId: "abc" }, "instance started"],
      ["error", {}, "no fields"],
    ]);
  });
});

describe("lifecycle lines", () => {
  test("an instance's lines carry instanceId and name, from start to completion", async () => {
    const { lines, logger } = jsonLines();
    const logged: unknown[][] = [];
    const hub = new TaskHub({
      store: new MemoryStore(),
      logger,
      maxIdleMs: 50,
      replayCacheSize: 0, // every step replays the orchestrator from the start
      orchestrationLog: (level, instanceId, args) => logged.push([level, instanceId, ...args]),
    });
    hub.activity("Double", (n: number, ctx) => {
      if (ctx.attempt === 1) throw new Error("first attempt fails");
      return n * 2;
    });
    hub.orchestrator("Flow", function* (ctx) {
      ctx.log.info("flow began");
      const doubled = yield* ctx.callActivityWithRetry<number>(
        "Double",
        { maxNumberOfAttempts: 2, firstRetryIntervalMs: 10 },
        21,
      );
      ctx.log.info("doubled", doubled);
      yield ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + 30));
      const approval = yield* ctx.waitForExternalEvent<string>("Approve");
      ctx.log.info("approved by", approval);
      return doubled;
    });
    await hub.start();
    try {
      const id = await hub.client.startNew("Flow", { input: null });
      await hub.client.raiseEvent(id, "Approve", "ada");
      const done = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      assert.equal(done.output, 42);
      // A step's lines follow its commit, which a waiting client may hear of first.
      await eventually("the completion line", () =>
        lines.some((l) => l.instanceId === id && l.msg === "instance completed"),
      );

      const about = lines.filter((l) => l.instanceId === id);
      const messages = about.map((l) => l.msg);
      for (const expected of [
        "instance started",
        "checkpoint committed",
        "activity scheduled",
        "activity started",
        "activity threw",
        "activity failed",
        "activity completed",
        "timer fired",
        "event raised",
        "instance completed",
      ]) {
        assert.ok(messages.includes(expected), `a '${expected}' line (got ${messages.join(", ")})`);
      }
      for (const line of about.filter((l) => !l.msg.startsWith("activity ") || l.name !== undefined)) {
        assert.equal(line.name, "Flow", `'${line.msg}' names the orchestration`);
      }
      const failed = about.find((l) => l.msg === "activity failed")!;
      assert.equal(failed.level, "info", "a retried failure is not a warning");
      assert.deepEqual([failed.activity, failed.attempt, failed.error], ["Double", 1, "first attempt fails"]);
      assert.equal(typeof failed.taskId, "number");
      const completed = about.find((l) => l.msg === "instance completed")!;
      assert.equal(completed.status, "Completed");
      assert.ok(typeof completed.durationMs === "number" && completed.durationMs >= 30);
      assert.equal(messages.filter((m) => m === "instance started").length, 1);
      assert.equal(messages.filter((m) => m === "instance completed").length, 1);

      assert.deepEqual(logged, [
        ["info", id, "flow began"],
        ["info", id, "doubled", 42],
        ["info", id, "approved by", "ada"],
      ]);
    } finally {
      await hub.stop();
    }
  });

  test("a failed instance logs a warning with the error and duration", async () => {
    const { lines, logger } = jsonLines();
    const hub = new TaskHub({ store: new MemoryStore(), logger, orchestrationLog: () => {} });
    hub.orchestrator("Broken", function* () {
      yield* [];
      throw new Error("nope");
    });
    await hub.start();
    try {
      const id = await hub.client.startNew("Broken", { input: null });
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      const failed = await eventually("the failure line", () =>
        lines.find((l) => l.msg === "instance failed"),
      );
      assert.deepEqual(
        [failed.level, failed.instanceId, failed.name, failed.error],
        ["warn", id, "Broken", "nope"],
      );
      assert.equal(typeof failed.durationMs, "number");
    } finally {
      await hub.stop();
    }
  });
});
