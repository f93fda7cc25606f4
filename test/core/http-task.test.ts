/**
 * The durable HTTP task over recorded histories: a poll sent just before the overall deadline
 * and cut short by it reports the deadline (as the polling timer does), while a first request
 * that times out keeps its own error.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HTTP_ACTIVITY_NAME } from "../../src/core/http-types.js";
import { hb, j, type Orchestrator, run, START } from "./util.js";

const catching: Orchestrator = function* (ctx) {
  try {
    return yield ctx.callHttp({ method: "GET", uri: "http://svc/job", timeoutMs: 400, pollIntervalMs: 50 });
  } catch (err) {
    const e = err as { details: { code?: string; message: string } };
    return [e.details.code, e.details.message];
  }
};

const at = (ms: number) => new Date(START.getTime() + ms);
const accepted = { statusCode: 202, headers: { location: "http://svc/status" }, content: "" };
const timedOut = { name: "TimeoutError", code: "TIMEOUT", message: "HTTP GET … timed out after 1 ms" };

describe("durable HTTP task deadlines", () => {
  test("a poll cut short by the deadline fails with the deadline's message", () => {
    const h = hb();
    const past = h
      .step(at(0))
      .started()
      .taskScheduled(0, HTTP_ACTIVITY_NAME)
      .step(at(10))
      .taskCompleted(0, accepted)
      .timerCreated(1, at(60))
      .step(at(399))
      .timerFired(1, at(60))
      .taskScheduled(2, HTTP_ACTIVITY_NAME)
      .events();
    const fresh = hb().step(at(401)).taskFailed(2, timedOut).events();
    const result = run(
      catching,
      past.map((e) => ({ ...e })),
      fresh,
    );
    assert.equal(
      result.completion?.result,
      j(["TIMEOUT", "HTTP GET http://svc/job did not finish within 400 ms (request and polling)"]),
    );
  });

  test("a first request that times out keeps its own error", () => {
    const past = hb().step(at(0)).started().taskScheduled(0, HTTP_ACTIVITY_NAME).events();
    const fresh = hb().step(at(401)).taskFailed(0, timedOut).events();
    const result = run(catching, past, fresh);
    assert.equal(result.completion?.result, j(["TIMEOUT", timedOut.message]));
  });
});
