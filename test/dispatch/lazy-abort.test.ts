/**
 * The lazy abort switch behind `ActivityContext.signal`: the signal behaves the same whether it
 * was asked for before or after the abort.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LazyAbort } from "../../src/dispatch/lazy-abort.js";

describe("LazyAbort", () => {
  test("a signal asked for before the abort fires once, with the reason", () => {
    const abort = new LazyAbort();
    const signal = abort.signal;
    const reasons: unknown[] = [];
    signal.addEventListener("abort", () => reasons.push(signal.reason));
    assert.equal(signal.aborted, false);
    abort.abort("stop");
    abort.abort("again");
    assert.deepEqual(reasons, ["stop"]);
    assert.equal(abort.aborted, true);
    assert.equal(abort.signal, signal, "the same signal every time");
  });

  test("a signal asked for after the abort is already aborted with the first reason", () => {
    const abort = new LazyAbort();
    assert.equal(abort.aborted, false);
    abort.abort("lease lost");
    abort.abort("later");
    assert.equal(abort.signal.aborted, true);
    assert.equal(abort.signal.reason, "lease lost");
  });
});
