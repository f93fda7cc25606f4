/**
 * The commit batcher: the commits of one turn go in one flush, those submitted during a flush in
 * the next, and `waiting` counts every commit not yet settled (the activity dispatcher keeps a
 * slot held while as many results as slots wait).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CommitBatcher } from "../../src/dispatch/commit-batcher.js";
import type { CommitOutcome } from "../../src/store/store.js";

test("one turn's commits flush together; `waiting` counts the queued and the written ones", async () => {
  const flushes: number[][] = [];
  let finish: () => void = () => {};
  const batcher = new CommitBatcher<number>(async (items) => {
    flushes.push(items);
    await new Promise<void>((resolve) => {
      finish = resolve;
    });
    return items.map((): CommitOutcome => ({ committed: true }));
  });
  assert.equal(batcher.waiting, 0);
  const first = [1, 2, 3].map((n) => batcher.submit(n));
  assert.equal(batcher.waiting, 3, "queued");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepStrictEqual(flushes, [[1, 2, 3]]);
  const second = [4, 5].map((n) => batcher.submit(n));
  assert.equal(batcher.waiting, 5, "three being written, two queued");
  finish();
  await Promise.all(first);
  assert.equal(batcher.waiting, 2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepStrictEqual(flushes, [
    [1, 2, 3],
    [4, 5],
  ]);
  finish();
  await Promise.all(second);
  assert.equal(batcher.waiting, 0);
});
