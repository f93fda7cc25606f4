/**
 * `client.createHttpManagementPayload` and `client.createCheckStatusResponse`: URLs built from the
 * hub's `httpBaseUrl`, and a clear InvalidStateError when it is not configured.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStore, TaskHub } from "../../src/index.js";

const BASE = "http://127.0.0.1:7071/runtime/webhooks/durabletask";

describe("DurableClient HTTP management helpers", () => {
  test("the payload's URLs are built from httpBaseUrl and name the task hub", () => {
    const hub = new TaskHub({
      name: "orders",
      store: new MemoryStore(),
      httpBaseUrl: "http://127.0.0.1:7071/ignored",
    });
    const payload = hub.client.createHttpManagementPayload("order 1");
    assert.deepEqual(payload, {
      id: "order 1",
      statusQueryGetUri: `${BASE}/instances/order%201?taskHub=orders`,
      sendEventPostUri: `${BASE}/instances/order%201/raiseEvent/{eventName}?taskHub=orders`,
      terminatePostUri: `${BASE}/instances/order%201/terminate?reason={text}&taskHub=orders`,
      rewindPostUri: `${BASE}/instances/order%201/rewind?reason={text}&taskHub=orders`,
      purgeHistoryDeleteUri: `${BASE}/instances/order%201?taskHub=orders`,
      restartPostUri: `${BASE}/instances/order%201/restart?taskHub=orders`,
      suspendPostUri: `${BASE}/instances/order%201/suspend?reason={text}&taskHub=orders`,
      resumePostUri: `${BASE}/instances/order%201/resume?reason={text}&taskHub=orders`,
    });
  });

  test("the check-status response is a 202 pointing at httpBaseUrl, whatever the request's Host", () => {
    const hub = new TaskHub({ store: new MemoryStore(), httpBaseUrl: "http://127.0.0.1:7071" });
    const response = hub.client.createCheckStatusResponse({ headers: { host: "app.example:8080" } }, "abc");
    assert.equal(response.status, 202);
    assert.equal(response.headers.location, `${BASE}/instances/abc?taskHub=default`);
    assert.equal(response.headers["retry-after"], "1");
    assert.equal(response.body.statusQueryGetUri, response.headers.location);
  });

  test("without httpBaseUrl both helpers throw InvalidStateError", () => {
    const hub = new TaskHub({ store: new MemoryStore() });
    const message = /pass httpBaseUrl/;
    assert.throws(() => hub.client.createHttpManagementPayload("abc"), { code: "INVALID_STATE", message });
    assert.throws(() => hub.client.createCheckStatusResponse({ headers: { host: "x" } }, "abc"), {
      code: "INVALID_STATE",
      message,
    });
  });

  test("a bad httpBaseUrl or instance ID is InvalidArgumentError", () => {
    for (const httpBaseUrl of ["not a url", "ftp://example.com", "/relative"]) {
      assert.throws(() => new TaskHub({ store: new MemoryStore(), httpBaseUrl }), {
        code: "INVALID_ARGUMENT",
      });
    }
    const hub = new TaskHub({ store: new MemoryStore(), httpBaseUrl: "http://127.0.0.1:7071" });
    assert.throws(() => hub.client.createHttpManagementPayload(""), { code: "INVALID_ARGUMENT" });
  });
});
