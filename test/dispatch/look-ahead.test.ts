/**
 * The look-ahead buffer (src/dispatch/look-ahead.ts): when it leases ahead and what it answers an
 * idle loop, the order items come due in, `expedite`, and `takeAll`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LookAhead } from "../../src/dispatch/look-ahead.js";

interface Item {
  id: string;
  at: number;
}

/** A look-ahead over a fake store whose due work is `queue` (leased in order) or `due`. */
function fixture(queue: Item[], options: { due?: number; capacity?: number; batch?: number } = {}) {
  const leased: number[] = [];
  const ahead = new LookAhead<Item>({
    windowMs: 1_000,
    capacity: options.capacity ?? 100,
    batch: options.batch ?? 2,
    lease: async (max) => {
      leased.push(max);
      return queue.splice(0, max);
    },
    dueAt: (item) => item.at,
    key: (item) => item.id,
    storeDue: async () => options.due ?? queue[0]?.at,
  });
  return { ahead, leased };
}

describe("LookAhead", () => {
  test("work far off: wakes the loop a window early, leasing nothing", async () => {
    const due = Date.now() + 5_000;
    const { ahead, leased } = fixture([{ id: "a", at: due }]);
    assert.equal(await ahead.nextDue(), due - 1_000);
    assert.deepEqual(leased, []);
  });

  test("work within the window: leases a batch and asks to come back at once, until none is left", async () => {
    const at = Date.now() + 500;
    const queue = ["a", "b", "c"].map((id, i) => ({ id, at: at + i }));
    const { ahead, leased } = fixture(queue);
    assert.ok((await ahead.nextDue())! <= Date.now(), "a batch was leased: come back now");
    assert.ok((await ahead.nextDue())! <= Date.now());
    assert.equal(ahead.size, 3);
    assert.deepEqual(leased, [2, 2]);
    assert.equal(await ahead.nextDue(), at, "nothing left to lease: wake at the first held item");
  });

  test("no room: leases nothing beyond the capacity", async () => {
    const at = Date.now() + 500;
    const { ahead, leased } = fixture(
      ["a", "b", "c"].map((id) => ({ id, at })),
      { capacity: 2, batch: 5 },
    );
    await ahead.nextDue();
    assert.equal(ahead.size, 2);
    assert.deepEqual(leased, [2]);
    assert.equal(await ahead.nextDue(), at);
    assert.deepEqual(leased, [2]);
  });

  test("takeDue hands out items due by then in due order, each once, at most max", async () => {
    const now = Date.now();
    const items = [
      { id: "late", at: now + 900 },
      { id: "first", at: now + 100 },
      { id: "second", at: now + 200 },
    ];
    const { ahead } = fixture([...items], { batch: 3 });
    await ahead.nextDue();
    assert.deepEqual(ahead.takeDue(10, now + 50), []);
    assert.deepEqual(
      ahead.takeDue(1, now + 250).map((i) => i.id),
      ["first"],
    );
    assert.deepEqual(
      ahead.takeDue(10, now + 250).map((i) => i.id),
      ["second"],
    );
    assert.equal(ahead.size, 1);
  });

  test("expedite makes a held item due now, once; takeAll empties the rest", async () => {
    const now = Date.now();
    const { ahead } = fixture(
      [
        { id: "a", at: now + 800 },
        { id: "b", at: now + 900 },
      ],
      { batch: 2 },
    );
    await ahead.nextDue();
    assert.equal(ahead.expedite("unknown"), false);
    assert.equal(ahead.expedite("b"), true);
    assert.ok((await ahead.nextDue())! <= Date.now(), "an expedited item is due now");
    assert.deepEqual(
      ahead.takeDue(10, now).map((i) => i.id),
      ["b"],
    );
    assert.deepEqual(ahead.takeDue(10, now + 1_000), [{ id: "a", at: now + 800 }]);
    assert.deepEqual(ahead.takeAll(), []);
  });
});
