import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register } from "../../examples/chaining.js";
import { type StoreKind, withExampleHub } from "./hub.js";

for (const kind of ["memory", "sqlite"] satisfies StoreKind[]) {
  describe(`function chaining (${kind})`, () => {
    test("greets every city in order", () =>
      withExampleHub(register, kind, async ({ hub, refs, finished }) => {
        const id = await hub.client.startNew(refs.helloCities, { input: ["Tokyo", "Seattle", "London"] });
        const status = await finished(id);
        assert.equal(status.runtimeStatus, "Completed");
        assert.deepEqual(status.output, ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]);
      }));

    test("records one scheduled activity per city, in input order", () =>
      withExampleHub(register, kind, async ({ hub, refs, finished }) => {
        const id = await hub.client.startNew(refs.helloCities, { input: ["Oslo", "Lima"] });
        await finished(id);
        const status = await hub.client.getStatus(id, { showHistory: true, showHistoryOutput: true });
        const scheduled = status?.history?.filter((e) => e.kind === "TaskScheduled").map((e) => e.input);
        assert.deepEqual(scheduled, ["Oslo", "Lima"]);
      }));

    test("an empty list completes with no greetings", () =>
      withExampleHub(register, kind, async ({ hub, refs, finished }) => {
        const id = await hub.client.startNew(refs.helloCities, { input: [] });
        assert.deepEqual((await finished(id)).output, []);
      }));
  });
}
