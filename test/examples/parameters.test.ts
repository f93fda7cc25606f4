import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register } from "../../examples/parameters.js";
import { withExampleHub } from "./hub.js";

describe("passing several parameters", () => {
  test("an object in, a tuple and an object to activities, an object out", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input = { customer: "Ada", item: "notebooks", quantity: 3, unitPriceCents: 1250 };
      const id = await hub.client.startNew(refs.summarizeOrder, { input });
      const status = await finished(id);
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, {
        customer: "Ada",
        totalCents: 3750,
        message: "Ada ordered notebooks for 37.50 EUR",
      });
    }));

  test("the tuple reaches the activity as an array, the object with its property names", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input = { customer: "Lin", item: "pens", quantity: 4, unitPriceCents: 99 };
      const id = await hub.client.startNew(refs.summarizeOrder, { input });
      await finished(id);
      const history = (await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true }))
        ?.history;
      const inputs = history?.filter((e) => e.kind === "TaskScheduled").map((e) => e.input);
      assert.deepEqual(inputs, [[4, 99], { customer: "Lin", item: "pens", totalCents: 396 }]);
    }));
});
