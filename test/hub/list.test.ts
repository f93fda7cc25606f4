/**
 * Listing instances through the DurableClient: pagination with continuation tokens, filters by
 * creation time, runtime status and ID prefix, and the all-pages helpers getStatusBy/getStatusAll.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DurableClient } from "../../src/client.js";
import type { TaskHub } from "../../src/hub.js";
import type { OrchestrationStatus } from "../../src/status.js";
import { immediate, STORE_KINDS, sleep, statusBecomes, storeSuiteOptions, useHubEnv } from "./fixtures.js";

/** Reads every page of a listing and returns the pages' sizes and all instance IDs in order. */
async function readAllPages(
  client: DurableClient,
  query: Parameters<DurableClient["listInstances"]>[0],
): Promise<{ sizes: number[]; ids: string[] }> {
  const sizes: number[] = [];
  const ids: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await client.listInstances({ ...query, continuationToken });
    sizes.push(page.instances.length);
    ids.push(...page.instances.map((s) => s.instanceId));
    continuationToken = page.continuationToken;
  } while (continuationToken !== undefined);
  return { sizes, ids };
}

const ids = (list: OrchestrationStatus[]): string[] => list.map((s) => s.instanceId).sort();

/** A started hub where "Quick" completes at once and "Wait" waits for an event. */
async function startedHub(hub: TaskHub): Promise<TaskHub> {
  hub.orchestrator(
    "Quick",
    immediate((ctx) => ctx.input),
  );
  hub.orchestrator("Wait", function* (ctx) {
    return yield ctx.waitForExternalEvent("go");
  });
  await hub.start();
  return hub;
}

for (const kind of STORE_KINDS) {
  describe(`listInstances (${kind})`, storeSuiteOptions(kind), () => {
    const env = useHubEnv(kind);

    test("23 instances come in pages of 10, 10 and 3, each exactly once, oldest first", async () => {
      const { client } = env.hub();
      const started: string[] = [];
      for (let i = 0; i < 23; i++) {
        started.push(await client.startNew("Anything", { instanceId: `inst-${String(i).padStart(2, "0")}` }));
      }
      const { sizes, ids: listed } = await readAllPages(client, { pageSize: 10 });
      assert.deepEqual(sizes, [10, 10, 3]);
      assert.deepEqual(listed, started, "oldest first; ties broken by ID");
      const last = await client.listInstances({ pageSize: 23 });
      assert.equal(last.instances.length, 23);
      assert.equal(last.continuationToken, undefined, "no token once everything fits");
    });

    test("a page shows each instance's status fields but never its history", async () => {
      const hub = await startedHub(env.hub());
      const id = await hub.client.startNew("Quick", { input: { a: 1 } });
      await hub.client.waitForCompletion(id, { timeoutMs: 10_000 });
      const [status] = (await hub.client.listInstances()).instances;
      assert.equal(status?.instanceId, id);
      assert.equal(status.name, "Quick");
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.input, { a: 1 });
      assert.deepEqual(status.output, { a: 1 });
      assert.ok(status.createdTime instanceof Date);
      assert.equal(status.history, undefined);
    });

    test("createdFrom and createdTo select by creation time", async () => {
      const { client } = env.hub();
      for (const id of ["early-1", "early-2"]) await client.startNew("X", { instanceId: id });
      await sleep(20);
      const middle = new Date();
      await sleep(20);
      for (const id of ["late-1", "late-2", "late-3"]) await client.startNew("X", { instanceId: id });
      const later = await client.listInstances({ createdFrom: middle });
      assert.deepEqual(ids(later.instances), ["late-1", "late-2", "late-3"]);
      const earlier = await client.listInstances({ createdTo: middle });
      assert.deepEqual(ids(earlier.instances), ["early-1", "early-2"]);
      const none = await client.listInstances({ createdFrom: new Date(Date.now() + 60_000) });
      assert.deepEqual(none.instances, []);
      const all = await client.listInstances({
        createdFrom: new Date(0),
        createdTo: new Date(Date.now() + 1000),
      });
      assert.equal(all.instances.length, 5);
      const pivot = (await client.getStatus("late-1"))?.createdTime;
      assert.ok(pivot);
      const fromPivot = await client.getStatusBy({ createdFrom: pivot });
      assert.ok(ids(fromPivot).includes("late-1"), "createdFrom is inclusive");
      const toPivot = await client.getStatusBy({ createdTo: pivot });
      assert.ok(!ids(toPivot).includes("late-1"), "createdTo is exclusive");
      assert.ok(ids(toPivot).includes("early-2"));
    });

    test("runtimeStatus selects by status, several statuses combine with OR", async () => {
      const hub = await startedHub(env.hub());
      const { client } = hub;
      const done = [await client.startNew("Quick"), await client.startNew("Quick")];
      const waiting = [
        await client.startNew("Wait"),
        await client.startNew("Wait"),
        await client.startNew("Wait"),
      ];
      for (const id of done) await client.waitForCompletion(id, { timeoutMs: 10_000 });
      for (const id of waiting) await statusBecomes(client, id, "Running");
      const running = await client.listInstances({ runtimeStatus: ["Running"] });
      assert.deepEqual(ids(running.instances), [...waiting].sort());
      const completed = await client.listInstances({ runtimeStatus: ["Completed"] });
      assert.deepEqual(ids(completed.instances), [...done].sort());
      const both = await client.listInstances({ runtimeStatus: ["Completed", "Running"] });
      assert.equal(both.instances.length, 5);
      const failed = await client.listInstances({ runtimeStatus: ["Failed"] });
      assert.deepEqual(failed.instances, []);
      const any = await client.listInstances({ runtimeStatus: [] });
      assert.equal(any.instances.length, 5, "an empty status list does not filter");
    });

    test("instanceIdPrefix selects by ID prefix and pages through the matches", async () => {
      const { client } = env.hub();
      for (let i = 0; i < 5; i++) await client.startNew("X", { instanceId: `order-${i}` });
      for (let i = 0; i < 4; i++) await client.startNew("X", { instanceId: `user-${i}` });
      await client.startNew("X", { instanceId: "order" });
      const orders = await readAllPages(client, { instanceIdPrefix: "order-", pageSize: 2 });
      assert.deepEqual(orders.sizes, [2, 2, 1]);
      assert.deepEqual(orders.ids, ["order-0", "order-1", "order-2", "order-3", "order-4"]);
      const users = await client.listInstances({ instanceIdPrefix: "user-" });
      assert.deepEqual(ids(users.instances), ["user-0", "user-1", "user-2", "user-3"]);
      const none = await client.listInstances({ instanceIdPrefix: "Order-" });
      assert.deepEqual(none.instances, [], "prefixes are case-sensitive");
      const wildcard = await client.listInstances({ instanceIdPrefix: "%" });
      assert.deepEqual(wildcard.instances, [], "LIKE wildcards are taken literally");
    });

    test("getStatusAll returns every instance; getStatusBy applies the filter across pages", async () => {
      const hub = await startedHub(env.hub());
      const { client } = hub;
      const quick: string[] = [];
      for (let i = 0; i < 12; i++) quick.push(await client.startNew("Quick", { instanceId: `q-${i}` }));
      const waiting = await client.startNew("Wait", { instanceId: "w-0" });
      for (const id of quick) await client.waitForCompletion(id, { timeoutMs: 10_000 });
      await statusBecomes(client, waiting, "Running");

      const all = await client.getStatusAll();
      assert.equal(all.length, 13);
      assert.deepEqual(ids(all), [...quick, waiting].sort());
      const completed = await client.getStatusBy({ runtimeStatus: ["Completed"] });
      assert.deepEqual(ids(completed), [...quick].sort());
      const byPrefix = await client.getStatusBy({ instanceIdPrefix: "w-" });
      assert.deepEqual(ids(byPrefix), ["w-0"]);
      const future = await client.getStatusBy({ createdFrom: new Date(Date.now() + 60_000) });
      assert.deepEqual(future, []);
    });
  });
}
