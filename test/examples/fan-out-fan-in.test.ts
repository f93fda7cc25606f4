import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register } from "../../examples/fan-out-fan-in.js";
import { withExampleHub } from "./hub.js";

describe("fan-out/fan-in", () => {
  test("squares every work item in parallel and sums the results", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.sumOfSquares, { input: { itemCount: 5 } });
      const status = await finished(id);
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, { items: [1, 2, 3, 4, 5], results: [1, 4, 9, 16, 25], total: 55 });
    }));

  test("schedules all work items before any of them completes", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.sumOfSquares, { input: { itemCount: 4 } });
      await finished(id);
      const history = (await hub.client.getStatus(id, { showHistory: true }))?.history ?? [];
      const kinds = history.map((e) => e.kind).filter((k) => k === "TaskScheduled" || k === "TaskCompleted");
      // GetWorkItems is scheduled and completed first; then four schedules in a row (the fan-out).
      assert.deepEqual(kinds.slice(0, 6), [
        "TaskScheduled",
        "TaskCompleted",
        "TaskScheduled",
        "TaskScheduled",
        "TaskScheduled",
        "TaskScheduled",
      ]);
    }));

  test("a hundred work items sum to 338350", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.sumOfSquares, { input: { itemCount: 100 } });
      const status = await finished(id);
      assert.equal((status.output as { total: number }).total, 338_350);
    }));

  test("no work items give a total of zero", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.sumOfSquares, { input: { itemCount: 0 } });
      assert.deepEqual((await finished(id)).output, { items: [], results: [], total: 0 });
    }));
});
