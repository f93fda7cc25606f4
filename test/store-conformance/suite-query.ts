/**
 * Conformance: listing instances (filters, keyset pagination, tokens) and purging them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RuntimeStatus } from "../../src/core/events.js";
import type { InstanceFilter, InstanceQuery, Store } from "../../src/store/store.js";
import {
  ACT,
  activityTask,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  OTHER_HUB,
  rejectsWithCode,
  type StoreHarness,
  someEvents,
  WORKER,
} from "./fixtures.js";

const BASE = 1_700_000_000_000;

/** Reads every page of a query; returns the IDs per page and whether the last page had a token. */
async function readAllPages(store: Store, query: InstanceQuery): Promise<string[][]> {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await store.listInstances(HUB, { ...query, continuationToken: token });
    pages.push(page.instances.map((r) => r.instanceId));
    token = page.continuationToken;
    assert.ok(pages.length < 100, "pagination does not terminate");
  } while (token !== undefined);
  return pages;
}

/** Creates the fixed set of instances used by the filter table. */
async function seedForFilters(store: Store): Promise<void> {
  const rows: [string, number][] = [
    ["order-1", BASE + 10],
    ["order-2", BASE + 20],
    ["order_3", BASE + 30],
    ["orderX4", BASE + 40],
    ["ord%er5", BASE + 50],
    ["invoice-1", BASE + 20],
  ];
  for (const [id, createdAt] of rows) await store.createInstance(HUB, newInstance(id, { createdAt }));
}

/** Declares the listing and purge tests. */
export function queryTests(h: StoreHarness): void {
  describe("listInstances", () => {
    test("pages through 25 instances 10 at a time in (createdAt, instanceId) order", async () => {
      const expected: string[] = [];
      for (let i = 0; i < 25; i++) {
        // Pairs share a createdAt so the instanceId tie-break is exercised; inserted out of order.
        const id = `inst-${String(24 - i).padStart(2, "0")}`;
        await h.store.createInstance(HUB, newInstance(id, { createdAt: BASE + Math.floor((24 - i) / 2) }));
      }
      for (let i = 0; i < 25; i++) expected.push(`inst-${String(i).padStart(2, "0")}`);
      const pages = await readAllPages(h.store, { pageSize: 10 });
      assert.deepStrictEqual(
        pages.map((p) => p.length),
        [10, 10, 5],
      );
      assert.deepStrictEqual(pages.flat(), expected);
      const again = await readAllPages(h.store, { pageSize: 10 });
      assert.deepStrictEqual(again, pages, "stable order");
    });

    test("an exact last page has no continuation token", async () => {
      for (let i = 0; i < 4; i++)
        await h.store.createInstance(HUB, newInstance(`i${i}`, { createdAt: BASE + i }));
      const page = await h.store.listInstances(HUB, { pageSize: 4 });
      assert.equal(page.instances.length, 4);
      assert.equal(page.continuationToken, undefined);
      const empty = await h.store.listInstances(HUB, {});
      assert.equal(empty.instances.length, 4, "default page size is large enough");
      assert.equal(empty.continuationToken, undefined);
    });

    test("concurrent getInstance calls each get their own row, across hubs, or undefined", async () => {
      const ids = Array.from({ length: 30 }, (_, i) => `g${i}`);
      for (const id of ids) await h.store.createInstance(HUB, newInstance(id));
      await h.store.createInstance(OTHER_HUB, newInstance("g0", { input: '"other"' }));
      const asked = [...ids, "g3", "missing", ...ids.slice(0, 5)];
      const [mine, others] = await Promise.all([
        Promise.all(asked.map((id) => h.store.getInstance(HUB, id))),
        Promise.all(["g0", "g1"].map((id) => h.store.getInstance(OTHER_HUB, id))),
      ]);
      assert.deepStrictEqual(
        mine.map((r) => r?.instanceId),
        asked.map((id) => (id === "missing" ? undefined : id)),
      );
      assert.deepStrictEqual(
        others.map((r) => r?.input),
        ['"other"', undefined],
      );
    });

    test("an empty hub lists nothing", async () => {
      const page = await h.store.listInstances(HUB, {});
      assert.deepStrictEqual(page.instances, []);
      assert.equal(page.continuationToken, undefined);
    });

    test("returns full records", async () => {
      await h.store.createInstance(HUB, newInstance("a", { createdAt: BASE, input: '"x"' }));
      const page = await h.store.listInstances(HUB, {});
      assert.deepStrictEqual(page.instances, [await h.store.getInstance(HUB, "a")]);
    });

    const filterCases: { name: string; filter: InstanceFilter; expected: string[] }[] = [
      {
        name: "no filter",
        filter: {},
        expected: ["order-1", "invoice-1", "order-2", "order_3", "orderX4", "ord%er5"],
      },
      {
        name: "createdFrom is inclusive",
        filter: { createdFrom: BASE + 30 },
        expected: ["order_3", "orderX4", "ord%er5"],
      },
      { name: "createdTo is exclusive", filter: { createdTo: BASE + 20 }, expected: ["order-1"] },
      {
        name: "a created range",
        filter: { createdFrom: BASE + 20, createdTo: BASE + 40 },
        expected: ["invoice-1", "order-2", "order_3"],
      },
      { name: "prefix", filter: { instanceIdPrefix: "order-" }, expected: ["order-1", "order-2"] },
      { name: "prefix with _ is literal", filter: { instanceIdPrefix: "order_" }, expected: ["order_3"] },
      { name: "prefix with % is literal", filter: { instanceIdPrefix: "ord%" }, expected: ["ord%er5"] },
      {
        name: "empty prefix matches all",
        filter: { instanceIdPrefix: "" },
        expected: ["order-1", "invoice-1", "order-2", "order_3", "orderX4", "ord%er5"],
      },
      {
        name: "prefix and range",
        filter: { instanceIdPrefix: "order", createdFrom: BASE + 15 },
        expected: ["order-2", "order_3", "orderX4"],
      },
      { name: "no match", filter: { instanceIdPrefix: "zzz" }, expected: [] },
    ];
    for (const c of filterCases) {
      test(`filter: ${c.name}`, async () => {
        await seedForFilters(h.store);
        const pages = await readAllPages(h.store, { ...c.filter, pageSize: 2 });
        assert.deepStrictEqual(pages.flat(), c.expected);
      });
    }

    test("filter: runtimeStatus matches any of the given statuses", async () => {
      // Pending last: its start message stays queued and would be leased before the next one.
      const statuses: RuntimeStatus[] = [
        "Running",
        "Completed",
        "Failed",
        "Terminated",
        "Suspended",
        "Pending",
      ];
      for (const status of statuses) await instanceWithStatus(h.store, `s-${status}`, status);
      const list = async (runtimeStatus: RuntimeStatus[]) =>
        (await readAllPages(h.store, { runtimeStatus, pageSize: 1 })).flat().sort();
      assert.deepStrictEqual(await list(["Running"]), ["s-Running"]);
      assert.deepStrictEqual(await list(["Completed", "Failed", "Terminated"]), [
        "s-Completed",
        "s-Failed",
        "s-Terminated",
      ]);
      assert.deepStrictEqual(await list(["ContinuedAsNew"]), []);
    });

    test("an invalid continuation token is an InvalidArgumentError", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      for (const token of ["garbage!!", Buffer.from('{"x":1}').toString("base64url"), "e30"]) {
        await rejectsWithCode(h.store.listInstances(HUB, { continuationToken: token }), "INVALID_ARGUMENT");
      }
    });

    for (const pageSize of [0, -1, 1001, 1.5, Number.NaN]) {
      test(`pageSize ${pageSize} is an InvalidArgumentError`, async () => {
        await rejectsWithCode(h.store.listInstances(HUB, { pageSize }), "INVALID_ARGUMENT");
      });
    }

    test("pageSize 1 and 1000 are accepted", async () => {
      await h.store.createInstance(HUB, newInstance("a"));
      await h.store.createInstance(HUB, newInstance("b"));
      assert.equal((await h.store.listInstances(HUB, { pageSize: 1 })).instances.length, 1);
      assert.equal((await h.store.listInstances(HUB, { pageSize: 1000 })).instances.length, 2);
    });
  });

  describe("purgeInstances", () => {
    test("by IDs deletes only terminal instances, with all their data", async () => {
      for (const status of ["Completed", "Failed", "Terminated", "Running", "Pending"] as RuntimeStatus[]) {
        await instanceWithStatus(h.store, `s-${status}`, status, {
          history: { mode: "append", events: someEvents(1) },
          activities: status === "Pending" ? [] : [activityTask(`s-${status}`, `s-${status}-e1`, 0)],
          messages: status === "Pending" ? [] : [eventMessage(`s-${status}`, "queued", Date.now() + 60_000)],
        });
      }
      const count = await h.store.purgeInstances(HUB, {
        instanceIds: [
          "s-Completed",
          "s-Failed",
          "s-Terminated",
          "s-Running",
          "s-Pending",
          "unknown",
          "s-Failed",
        ],
      });
      assert.equal(count, 3);
      for (const status of ["Completed", "Failed", "Terminated"]) {
        assert.equal(await h.store.getInstance(HUB, `s-${status}`), undefined);
        assert.deepStrictEqual(await h.store.getHistory(HUB, `s-${status}`), []);
      }
      assert.equal((await h.store.getInstance(HUB, "s-Running"))?.runtimeStatus, "Running");
      assert.equal((await h.store.getInstance(HUB, "s-Pending"))?.runtimeStatus, "Pending");
      // Only the Running instance's activity task is left.
      const task = await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE);
      assert.equal(task?.task.instanceId, "s-Running");
      assert.equal(await h.store.leaseNextActivity(HUB, WORKER, [ACT], LONG_LEASE), undefined);
      // Re-creating a purged ID starts clean: only its new start message.
      await h.store.createInstance(HUB, newInstance("s-Completed", { visibleAt: 1 }));
      const item = await leaseOrchestration(h.store);
      assert.equal(item.instance.instanceId, "s-Completed");
      assert.deepStrictEqual(
        item.messages.map((m) => m.event.kind),
        ["ExecutionStarted"],
      );
    });

    test("by filter deletes matching terminal instances only", async () => {
      await instanceWithStatus(h.store, "old-done", "Completed");
      await instanceWithStatus(h.store, "old-running", "Running");
      await instanceWithStatus(h.store, "new-done", "Completed");
      assert.equal(await h.store.purgeInstances(HUB, { filter: { instanceIdPrefix: "old-" } }), 1);
      assert.equal(await h.store.getInstance(HUB, "old-done"), undefined);
      assert.ok(await h.store.getInstance(HUB, "old-running"));
      assert.ok(await h.store.getInstance(HUB, "new-done"));
      assert.equal(await h.store.purgeInstances(HUB, { filter: { runtimeStatus: ["Running"] } }), 0);
      assert.equal(await h.store.purgeInstances(HUB, { filter: {} }), 1);
      const rest = await h.store.listInstances(HUB, {});
      assert.deepStrictEqual(
        rest.instances.map((r) => r.instanceId),
        ["old-running"],
      );
    });

    test("by filter honours the created range", async () => {
      for (let i = 0; i < 5; i++) {
        await instanceWithStatus(h.store, `c${i}`, "Completed");
      }
      const rows = (await h.store.listInstances(HUB, {})).instances;
      const third = rows[2]!;
      const purged = await h.store.purgeInstances(HUB, { filter: { createdTo: third.createdAt } });
      const left = (await h.store.listInstances(HUB, {})).instances;
      assert.equal(purged + left.length, 5);
      assert.ok(left.every((r) => r.createdAt >= third.createdAt));
    });
  });
}
