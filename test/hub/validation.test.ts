/**
 * Bad input to the DurableClient: every call fails with a precise code before touching the store,
 * so the store is left exactly as it was.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  InvalidArgumentError,
  PayloadNotSerializableError,
  PayloadTooLargeError,
} from "../../src/core/errors.js";
import type { RuntimeStatus } from "../../src/core/events.js";
import type { TaskHub } from "../../src/hub.js";
import {
  historyKinds,
  instanceCount,
  rejectsWithCode,
  STORE_KINDS,
  statusBecomes,
  storeSuiteOptions,
  useHubEnv,
} from "./fixtures.js";

const MiB = 1024 * 1024;

/** A started hub with one "Wait" orchestrator that waits for an event named "go". */
async function startedHub(hub: TaskHub): Promise<TaskHub> {
  hub.orchestrator("Wait", function* (ctx) {
    return yield ctx.waitForExternalEvent("go");
  });
  await hub.start();
  return hub;
}

/** Builds an object that refers to itself. */
function circular(): Record<string, unknown> {
  const node: Record<string, unknown> = { name: "loop" };
  node.self = { parent: node };
  return node;
}

for (const kind of STORE_KINDS) {
  describe(`client input validation (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("bad instance IDs are INVALID_ARGUMENT and create nothing", async () => {
      const hub = await startedHub(env.hub());
      await hub.client.startNew("Wait", { instanceId: "existing" });
      const bad = ["", "x".repeat(257), "line\nbreak", "nul\u0000byte", "tab\there"];
      for (const instanceId of bad) {
        await rejectsWithCode(
          hub.client.startNew("Wait", { instanceId }),
          "INVALID_ARGUMENT",
          InvalidArgumentError,
        );
        await rejectsWithCode(hub.client.getStatus(instanceId), "INVALID_ARGUMENT");
      }
      assert.equal(await instanceCount(hub.client), 1);
      const longest = await hub.client.startNew("Wait", { instanceId: "y".repeat(256) });
      assert.equal(longest.length, 256, "256 characters is still allowed");
    });

    test("inputs JSON cannot hold are PAYLOAD_NOT_SERIALIZABLE, naming the bad part", async () => {
      const hub = await startedHub(env.hub());
      const cases: [unknown, RegExp][] = [
        [() => 1, /the value is a function/],
        [{ nested: { fn: () => 1 } }, /\.nested\.fn is a function/],
        [Symbol("s"), /is a symbol/],
        [{ list: [1, Symbol("s")] }, /\.list\[1\] is a symbol/],
        [10n, /is a BigInt/],
        [{ amount: 10n }, /\.amount is a BigInt/],
        [circular(), /\.self\.parent is a circular reference/],
      ];
      for (const [input, message] of cases) {
        await assert.rejects(hub.client.startNew("Wait", { input }), (err: unknown) => {
          assert.ok(err instanceof PayloadNotSerializableError);
          assert.equal(err.code, "PAYLOAD_NOT_SERIALIZABLE");
          assert.match(err.message, message);
          assert.match(err.message, /input of orchestration 'Wait'/);
          return true;
        });
      }
      assert.equal(await instanceCount(hub.client), 0);
    });

    test("an input above the hub's maxPayloadBytes is PAYLOAD_TOO_LARGE", async () => {
      const hub = await startedHub(env.hub({ maxPayloadBytes: 100 }));
      await rejectsWithCode(
        hub.client.startNew("Wait", { input: "x".repeat(99) }),
        "PAYLOAD_TOO_LARGE",
        PayloadTooLargeError,
      );
      assert.equal(await instanceCount(hub.client), 0);
      // 98 characters plus two quotes is exactly the limit.
      const id = await hub.client.startNew("Wait", { input: "x".repeat(98) });
      await statusBecomes(hub.client, id, "Running");
      await rejectsWithCode(hub.client.raiseEvent(id, "go", { text: "y".repeat(100) }), "PAYLOAD_TOO_LARGE");
      assert.deepEqual(
        (await historyKinds(hub.client, id)).filter((k) => k === "EventRaised"),
        [],
        "the oversized event was not delivered",
      );
    });

    test("the default limit is 1 MiB of serialised JSON", async () => {
      const hub = await startedHub(env.hub());
      await assert.rejects(hub.client.startNew("Wait", { input: "x".repeat(MiB) }), (err: unknown) => {
        assert.ok(err instanceof PayloadTooLargeError);
        assert.match(err.message, /1048578 bytes.*limit is 1048576 bytes/);
        return true;
      });
      assert.equal(await instanceCount(hub.client), 0);
      const id = await hub.client.startNew("Wait", { input: "x".repeat(MiB - 2) });
      assert.equal(((await hub.client.getStatus(id))?.input as string).length, MiB - 2);
    });

    test("an invalid startAt is INVALID_ARGUMENT", async () => {
      const hub = await startedHub(env.hub());
      const bad = [new Date(Number.NaN), "2030-01-01T00:00:00Z", Date.now() + 1000];
      for (const startAt of bad) {
        await rejectsWithCode(
          hub.client.startNew("Wait", { startAt: startAt as unknown as Date }),
          "INVALID_ARGUMENT",
        );
      }
      assert.equal(await instanceCount(hub.client), 0);
    });

    test("bad event names are INVALID_ARGUMENT and deliver nothing", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Wait");
      await statusBecomes(hub.client, id, "Running");
      for (const name of ["", "   ", "a\nb", "z".repeat(257), 42]) {
        await rejectsWithCode(hub.client.raiseEvent(id, name as string, 1), "INVALID_ARGUMENT");
      }
      await rejectsWithCode(hub.client.raiseEvent("", "go"), "INVALID_ARGUMENT");
      const status = await hub.client.getStatus(id, { showHistory: true });
      assert.equal(status?.runtimeStatus, "Running");
      assert.equal(status.history?.filter((e) => e.kind === "EventRaised").length, 0);
    });

    test("bad list and purge filters are INVALID_ARGUMENT", async () => {
      const hub = await startedHub(env.hub());
      await hub.client.startNew("Wait");
      const { client } = hub;
      const bogus = ["Bogus"] as unknown as RuntimeStatus[];
      await rejectsWithCode(client.listInstances({ runtimeStatus: bogus }), "INVALID_ARGUMENT");
      await rejectsWithCode(client.purgeInstanceHistoryBy({ runtimeStatus: bogus }), "INVALID_ARGUMENT");
      await rejectsWithCode(
        client.listInstances({ runtimeStatus: "Running" as unknown as RuntimeStatus[] }),
        "INVALID_ARGUMENT",
      );
      await rejectsWithCode(client.listInstances({ createdFrom: new Date(Number.NaN) }), "INVALID_ARGUMENT");
      await rejectsWithCode(
        client.listInstances({ createdTo: "yesterday" as unknown as Date }),
        "INVALID_ARGUMENT",
      );
      for (const pageSize of [0, 1001, 1.5, -1]) {
        await rejectsWithCode(client.listInstances({ pageSize }), "INVALID_ARGUMENT");
      }
      assert.equal((await client.listInstances({ pageSize: 1000 })).instances.length, 1);
      assert.equal((await client.listInstances({ pageSize: 1 })).instances.length, 1);
    });

    test("a garbage continuation token is INVALID_ARGUMENT", async () => {
      const hub = await startedHub(env.hub());
      await hub.client.startNew("Wait");
      await hub.client.startNew("Wait");
      const page = await hub.client.listInstances({ pageSize: 1 });
      assert.ok(page.continuationToken);
      for (const token of ["garbage!", "bm90IGpzb24", Buffer.from('{"x":1}').toString("base64url")]) {
        await rejectsWithCode(
          hub.client.listInstances({ pageSize: 1, continuationToken: token }),
          "INVALID_ARGUMENT",
        );
      }
      await rejectsWithCode(
        hub.client.listInstances({ continuationToken: 7 as unknown as string }),
        "INVALID_ARGUMENT",
      );
      const next = await hub.client.listInstances({ pageSize: 1, continuationToken: page.continuationToken });
      assert.equal(next.instances.length, 1, "the real token still works");
    });

    test("bad reasons and unknown-instance operations are rejected with precise codes", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Wait");
      await statusBecomes(hub.client, id, "Running");
      await rejectsWithCode(hub.client.terminate(id, 5 as unknown as string), "INVALID_ARGUMENT");
      await rejectsWithCode(hub.client.suspend(id, {} as unknown as string), "INVALID_ARGUMENT");
      assert.equal((await hub.client.getStatus(id))?.runtimeStatus, "Running");
      for (const op of [
        () => hub.client.terminate("ghost"),
        () => hub.client.suspend("ghost"),
        () => hub.client.resume("ghost"),
        () => hub.client.rewind("ghost"),
        () => hub.client.restart("ghost"),
      ]) {
        await rejectsWithCode(op, "INSTANCE_NOT_FOUND");
      }
      await rejectsWithCode(hub.client.rewind(id), "INVALID_STATE");
      assert.equal(await instanceCount(hub.client), 1);
    });
  });
}
