/** The payload codec and the history builder. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_MAX_PAYLOAD_BYTES, deserialize, serialize } from "../../src/core/codec.js";
import {
  InvalidArgumentError,
  PayloadNotSerializableError,
  PayloadTooLargeError,
} from "../../src/core/errors.js";
import { HistoryBuilder, inboxMessages, isInboxEvent } from "../../src/testing/history.js";
import { j, START } from "./util.js";

describe("codec", () => {
  const roundTrips: { name: string; value: unknown; back?: unknown }[] = [
    { name: "a string", value: "héllo ✓" },
    { name: "a number", value: -12.5 },
    { name: "zero", value: 0 },
    { name: "false", value: false },
    { name: "null", value: null },
    { name: "an empty string", value: "" },
    { name: "a nested object", value: { a: [1, { b: "c" }], d: { e: null } } },
    { name: "nested undefined properties are dropped", value: { a: 1, b: undefined }, back: { a: 1 } },
    { name: "undefined array items become null", value: [1, undefined], back: [1, null] },
    { name: "a Date becomes its ISO string", value: new Date(0), back: "1970-01-01T00:00:00.000Z" },
    { name: "shared (non-circular) references are allowed", value: ((x) => ({ x, y: x }))({ k: 1 }) },
  ];
  for (const r of roundTrips) {
    test(`round-trips ${r.name}`, () => {
      const payload = serialize(r.value, "test");
      assert.equal(typeof payload, "string");
      assert.deepEqual(deserialize(payload), "back" in r ? r.back : r.value);
    });
  }

  test("undefined serialises to an absent payload and back", () => {
    assert.equal(serialize(undefined, "test"), undefined);
    assert.equal(deserialize(undefined), undefined);
  });

  const rejected: { name: string; value: unknown; message: RegExp }[] = [
    { name: "a top-level function", value: () => 1, message: /^input of 'X': the value is a function/ },
    {
      name: "a nested function",
      value: { a: { b: [0, () => 1] } },
      message: /the value at \.a\.b\[1\] is a function/,
    },
    { name: "a symbol", value: { s: Symbol("s") }, message: /the value at \.s is a symbol/ },
    { name: "a BigInt", value: { n: 10n }, message: /the value at \.n is a BigInt.*convert it to a string/ },
    {
      name: "a cycle",
      value: (() => {
        const a: unknown[] = [];
        a.push({ back: a });
        return a;
      })(),
      message: /the value at \[0\]\.back is a circular reference/,
    },
  ];
  for (const r of rejected) {
    test(`rejects ${r.name} with PayloadNotSerializableError naming the path`, () => {
      assert.throws(
        () => serialize(r.value, "input of 'X'"),
        (err: unknown) =>
          err instanceof PayloadNotSerializableError &&
          err.code === "PAYLOAD_NOT_SERIALIZABLE" &&
          r.message.test(err.message),
      );
    });
  }

  test("rejects payloads above the limit, counting UTF-8 bytes", () => {
    assert.equal(serialize("ab", "t", 4), j("ab"));
    assert.throws(
      () => serialize("é", "output of 'Y'", 3),
      (err: unknown) =>
        err instanceof PayloadTooLargeError &&
        err.code === "PAYLOAD_TOO_LARGE" &&
        /output of 'Y' is 4 bytes/.test(err.message),
    );
    assert.equal(DEFAULT_MAX_PAYLOAD_BYTES, 1024 * 1024);
  });
});

describe("HistoryBuilder", () => {
  const h = () => new HistoryBuilder({ instanceId: "i", name: "N", input: { a: 1 }, start: START });

  test("serialises payloads with the codec and stamps events with the step time", () => {
    const events = h()
      .step()
      .started()
      .taskScheduled(0, "A", [1])
      .step()
      .taskCompleted(0, undefined)
      .events();
    assert.deepEqual(
      events.map((e) => [e.kind, e.eventId, e.timestamp]),
      [
        ["OrchestratorStarted", -1, START.toISOString()],
        ["ExecutionStarted", -1, START.toISOString()],
        ["TaskScheduled", 0, START.toISOString()],
        ["OrchestratorStarted", -1, "2024-01-01T00:00:01.000Z"],
        ["TaskCompleted", -1, "2024-01-01T00:00:01.000Z"],
      ],
    );
    const started = events[1];
    assert.ok(started?.kind === "ExecutionStarted");
    assert.deepEqual(
      [started.name, started.instanceId, started.executionId, started.input],
      ["N", "i", "exec-1", j({ a: 1 })],
    );
    const completed = events[4];
    assert.ok(completed?.kind === "TaskCompleted");
    assert.equal(completed.result, undefined);
  });

  test("step(at) sets the clock; failures keep error details", () => {
    const at = new Date("2030-01-01T00:00:00.000Z");
    const err = Object.assign(new Error("bad", { cause: new Error("root") }), { code: "E1" });
    const [step, failed] = h().step(at).taskFailed(3, err).events();
    assert.equal(step?.timestamp, at.toISOString());
    assert.ok(failed?.kind === "TaskFailed");
    assert.deepEqual(
      [failed.taskScheduledId, failed.failure.code, failed.failure.cause?.message],
      [3, "E1", "root"],
    );
  });

  test("mark splits recorded history from new events", () => {
    const b = h().step().started().mark().step().eventRaised("e", 1);
    assert.deepEqual(
      b.beforeMark().map((e) => e.kind),
      ["OrchestratorStarted", "ExecutionStarted"],
    );
    assert.deepEqual(
      b.sinceMark().map((e) => e.kind),
      ["OrchestratorStarted", "EventRaised"],
    );
  });

  test("inboxMessages wraps inbox events and rejects recorded-only events", () => {
    const events = h().timerFired(1, START).events();
    assert.deepEqual(inboxMessages("i", events, { executionId: "e" }), [
      { id: "m1", instanceId: "i", executionId: "e", event: events[0], visibleAt: START.getTime() },
    ]);
    assert.equal(isInboxEvent(h().step().events()[0]!), false);
    assert.throws(() => inboxMessages("i", h().taskScheduled(0, "A").events()), InvalidArgumentError);
  });
});
