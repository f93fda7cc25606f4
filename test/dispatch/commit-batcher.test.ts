/**
 * The commit batcher: the commits of one turn go in one flush, those submitted during a flush in
 * the next, `waiting` counts every commit not yet settled, and `submitAndRelease` keeps the
 * submitter's slot held while more commits than slots wait.
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

test("submitAndRelease gives the slot back unless more than `slots` commits wait", async () => {
  let finish: () => void = () => {};
  const batcher = new CommitBatcher<number>(async (items) => {
    await new Promise<void>((resolve) => {
      finish = resolve;
    });
    return items.map((): CommitOutcome => ({ committed: true }));
  });
  const released: number[] = [];
  const all = [1, 2, 3].map((n) => batcher.submitAndRelease(n, () => released.push(n), 2));
  assert.deepStrictEqual(released, [1, 2], "the third found three commits waiting, more than two slots");
  await new Promise((resolve) => setImmediate(resolve));
  finish();
  await Promise.all(all);
  assert.equal(batcher.waiting, 0);
});
