import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register as registerAggregator } from "../../examples/aggregator.js";
import { accountId, OPENING_BALANCE, register as registerBank } from "../../examples/bank-transfer.js";
import { register as registerCounter } from "../../examples/counter.js";
import type { DurableClient } from "../../src/index.js";
import { type StoreKind, withExampleHub } from "./hub.js";

/** Polls until `read` returns something other than undefined (at most 10 s). */
async function eventually<T>(read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const balance = async (client: DurableClient, key: string) => {
  const { entityExists, entityState } = await client.readEntityState<number>(accountId(key));
  return entityExists ? entityState! : OPENING_BALANCE;
};

for (const kind of ["memory", "sqlite"] satisfies StoreKind[]) {
  describe(`entities examples (${kind})`, () => {
    test("counter: signals from clients and an orchestration, read back in order", () =>
      withExampleHub(registerCounter, kind, async ({ hub, refs, finished }) => {
        const id = refs.counter.id("visits");
        await hub.client.signalEntity(id, "add", 5);
        await hub.client.signalEntity(id, "add", 2);
        const instanceId = await hub.client.startNew(refs.addAndRead, {
          input: { key: "visits", amount: 3 },
        });
        assert.equal((await finished(instanceId)).output, 10);
        await hub.client.signalEntity(id, "delete");
        await eventually(async () =>
          (await hub.client.readEntityState(id)).entityExists ? undefined : true,
        );
      }));

    test("bank: concurrent transfers in both directions keep the total; overdrafts are refused", () =>
      withExampleHub(registerBank, kind, async ({ hub, refs, finished }) => {
        const transfers = [
          { from: "alice", to: "bob", amount: 30 },
          { from: "bob", to: "alice", amount: 10 },
          { from: "bob", to: "carol", amount: 50 },
          { from: "carol", to: "alice", amount: 500 },
          { from: "alice", to: "carol", amount: 20 },
        ];
        const ids = await Promise.all(
          transfers.map((input) => hub.client.startNew(refs.transfer, { input })),
        );
        const results = await Promise.all(
          ids.map(async (id) => (await finished(id)).output as { status: string }),
        );
        assert.equal(results[3]?.status, "InsufficientFunds");
        assert.deepEqual(
          results.filter((r) => r.status === "Transferred").length,
          4,
          JSON.stringify(results),
        );
        const final = await Promise.all(["alice", "bob", "carol"].map((k) => balance(hub.client, k)));
        assert.deepEqual(final, [100 - 30 + 10 - 20, 100 + 30 - 10 - 50, 100 + 50 + 20]);
      }));

    test("aggregator: readings signalled by an orchestration are summarised", () =>
      withExampleHub(registerAggregator, kind, async ({ hub, refs, finished }) => {
        const instanceId = await hub.client.startNew(refs.collectReadings, {
          input: { deviceId: "sensor-7", count: 12 },
        });
        assert.equal((await finished(instanceId)).output, 12);
        const readings = Array.from({ length: 12 }, (_, i) => Math.round(20 + 5 * Math.sin(i)));
        const stats = await eventually(async () => {
          const s = await hub.client.readEntityState<{ count: number }>(refs.aggregator.id("sensor-7"));
          return s.entityState?.count === 12 ? s.entityState : undefined;
        });
        assert.deepEqual(stats, {
          count: 12,
          sum: readings.reduce((a, b) => a + b, 0),
          min: Math.min(...readings),
          max: Math.max(...readings),
        });
        await hub.client.signalEntity(refs.aggregator.id("sensor-7"), "record", "not a number");
        await hub.client.signalEntity(refs.aggregator.id("sensor-7"), "record", 100);
        const after = await eventually(async () => {
          const s = await hub.client.readEntityState<{ count: number; max: number }>(
            refs.aggregator.id("sensor-7"),
          );
          return s.entityState?.count === 13 ? s.entityState : undefined;
        });
        assert.equal(after.max, 100, "the bad reading was rejected and the next one applied");
      }));
  });
}
