/**
 * The work loop's slots: at most `concurrency` items hold one at a time, an item may give its slot
 * back before it finishes (`release`), and `drain` still waits for every unfinished item.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { idleSleepMs, WorkLoop } from "../../src/dispatch/work-loop.js";

/** A promise with its resolve function. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Waits until `condition` holds (checked every few milliseconds, up to two seconds). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), what);
}

/** A loop over a queue of numbered items; `process` is given each item and its release function. */
function loopOver(
  queue: number[],
  concurrency: number,
  process: (item: number, release: () => void) => Promise<void>,
): { loop: WorkLoop<number>; asked: number[] } {
  const asked: number[] = [];
  const loop = new WorkLoop<number>({
    name: "test",
    concurrency,
    fetch: async (max) => {
      asked.push(max);
      return queue.splice(0, max);
    },
    process,
    nextDue: async () => undefined,
    maxIdleMs: 10,
    onError: (err) => assert.fail(String(err)),
  });
  return { loop, asked };
}

test("no more than `concurrency` items hold a slot at once", async () => {
  const gates = new Map<number, ReturnType<typeof deferred>>();
  let running = 0;
  let most = 0;
  const { loop, asked } = loopOver([1, 2, 3, 4, 5], 2, async (item) => {
    running++;
    most = Math.max(most, running);
    const gate = deferred();
    gates.set(item, gate);
    await gate.promise;
    running--;
  });
  loop.start();
  await until(() => gates.size === 2, "two items started");
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(gates.size, 2, "a third item waits for a slot");
  for (const item of [1, 2, 3, 4, 5]) {
    await until(() => gates.has(item), `item ${item} started`);
    gates.get(item)!.resolve();
  }
  await loop.stopLeasing();
  await loop.drain();
  assert.equal(most, 2);
  assert.ok(
    asked.every((max) => max >= 1 && max <= 2),
    `fetch asked for 1..2 items, got ${asked}`,
  );
});

test("an item that releases its slot lets the next start; drain still waits for it", async () => {
  const finish = deferred();
  const started: number[] = [];
  const finished: number[] = [];
  const { loop } = loopOver([1, 2], 1, async (item, release) => {
    started.push(item);
    if (item === 1) {
      release();
      release(); // a second call changes nothing
      await finish.promise;
    }
    finished.push(item);
  });
  loop.start();
  await until(() => started.includes(2), "item 2 started while item 1 was unfinished");
  assert.deepStrictEqual(finished, [2]);
  await loop.stopLeasing();
  let drained = false;
  const draining = loop.drain().then(() => {
    drained = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(drained, false, "drain waits for the released but unfinished item");
  finish.resolve();
  await draining;
  assert.deepStrictEqual(finished, [2, 1]);
});

test("an idle loop sleeps until the next due time, polls for held work, and retries work that just came due", () => {
  const poll = 1000;
  const lastLease = 10_000;
  const cases: [string, number | undefined, number, number][] = [
    ["nothing known: poll", undefined, 10_050, poll],
    ["due before the next poll: sleep until it", 10_300, 10_050, 250],
    ["due after the next poll: poll", 12_000, 10_050, poll],
    ["due before the last lease began, still not leased: held elsewhere, poll", 9_990, 10_050, poll],
    ["due after the last lease began: that lease could not see it, lease again now", 10_020, 10_050, 0],
    ["due exactly as the lease began: lease again now", 10_000, 10_050, 0],
  ];
  for (const [what, due, now, expected] of cases) {
    assert.equal(idleSleepMs(due, now, lastLease, poll), expected, what);
  }
});

/** A started loop that never finds work: `onFetch` is called at each fetch. */
function idleLoop(maxIdleMs: number, onFetch: (loop: WorkLoop<number>) => void): WorkLoop<number> {
  const loop: WorkLoop<number> = new WorkLoop<number>({
    name: "test",
    concurrency: 2,
    fetch: async () => {
      onFetch(loop);
      return [];
    },
    process: async () => {},
    nextDue: async () => undefined,
    maxIdleMs,
    onError: (err) => assert.fail(String(err)),
  });
  loop.start();
  return loop;
}

test("slots reserved and given back unused do not reset an idle loop's polling interval", async () => {
  let fetches = 0;
  const loop = idleLoop(200, () => fetches++);
  // A stream of back-to-back commits, each reserving every free slot and claiming nothing.
  const end = Date.now() + 600;
  while (Date.now() < end) {
    const reserved = loop.reserve();
    await new Promise((r) => setTimeout(r, 4));
    loop.adopt([], reserved);
    await new Promise((r) => setTimeout(r, 1));
  }
  await loop.stopLeasing();
  await loop.drain();
  // Backing off from 20 ms to 200 ms, 600 ms hold about six polls; restarting at 20 ms after each
  // commit would make it about thirty. (A slow machine only makes fewer.)
  assert.ok(fetches <= 12, `an idle loop polled ${fetches} times in 600 ms of unused reservations`);
});

test("work announced for later ends an idle sleep at its time, with no fetch before", async () => {
  const fetchedAt: number[] = [];
  let announceDuringFetch: number | undefined;
  const loop = idleLoop(60_000, (self) => {
    fetchedAt.push(Date.now());
    if (announceDuringFetch !== undefined) self.wakeAt(Date.now() + announceDuringFetch);
    announceDuringFetch = undefined;
  });
  try {
    // Idle polls back off from 20 ms: after 1.3 s the loop is in a sleep of 1,280 ms.
    await new Promise((r) => setTimeout(r, 1_300));
    const polls = fetchedAt.length;
    const announced = Date.now();
    announceDuringFetch = 150;
    loop.wakeAt(announced + 200);
    await until(() => fetchedAt.length === polls + 1, "a fetch at the announced time");
    const woke = fetchedAt[polls]!;
    assert.ok(woke >= announced + 195, `no fetch before the announced time (${woke - announced} ms)`);
    assert.ok(woke < announced + 1_000, `the sleep ended at the announced time (${woke - announced} ms)`);
    // Announced while a fetch ran: the sleep after it ends at that time, not at the next poll.
    await until(() => fetchedAt.length === polls + 2, "a fetch at the time announced during the last one");
    const next = fetchedAt[polls + 1]! - woke;
    assert.ok(next >= 145 && next < 1_500, `the next fetch came ${next} ms later`);
  } finally {
    // Stopped even when an assertion fails: a sleeping loop would keep the test process alive.
    await loop.stopLeasing();
    await loop.drain();
  }
});
