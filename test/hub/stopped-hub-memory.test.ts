/**
 * A stopped task hub holds on to nothing: once the application drops it, its replay cache, store
 * and dispatchers can be collected. (A lease-renewal timer left running after the last lease was
 * released once kept every stopped hub reachable for a third of the lease length.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { OrchestrationContext } from "../../src/core/context.js";
import { TaskHub } from "../../src/hub.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Runs one workflow with an activity on a fresh hub, stops it, and returns a weak reference to it. */
async function runAndStop(): Promise<WeakRef<TaskHub>> {
  const hub = new TaskHub({ store: new MemoryStore() });
  const inc = hub.activity("Inc", (x: number) => x + 1);
  const chain = hub.orchestrator("Chain", function* (ctx: OrchestrationContext<number>) {
    const a = yield* ctx.callActivity(inc, ctx.input);
    return yield* ctx.callActivity(inc, a);
  });
  await hub.start();
  const id = await hub.client.startNew(chain, { input: 1 });
  const status = await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
  assert.equal(status?.output, 3);
  await hub.stop();
  return new WeakRef(hub);
}

test("a stopped hub that the application dropped is garbage-collected", async () => {
  const ref = await runAndStop();
  // A WeakRef's target stays alive until the current job ends: collect on later turns.
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  assert.equal(ref.deref(), undefined, "something still references the stopped hub");
});
