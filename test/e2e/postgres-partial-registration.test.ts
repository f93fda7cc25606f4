/**
 * Split registrations on PostgreSQL: three task hubs on three PostgresStore objects (as three
 * processes would be) share one schema, each registering different functions. Each hub runs only
 * its own names, an orchestrator's activities run wherever they are registered, and work for a
 * name nobody serves waits (the instance stays Pending, the activity unrun) until a hub that has
 * the name starts. The hubs poll rarely (maxIdleMs 30 s), so the hand-overs between them within
 * the test's seconds are carried by LISTEN/NOTIFY.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PostgresStore, TaskHub } from "../../src/index.js";
import { eventually, type RecordingLogger, recordingLogger } from "../hub/fixtures.js";
import {
  describePostgres,
  dropSchema,
  randomSchema,
  TEST_DATABASE_URL,
} from "../store-conformance/postgres-env.js";

/** Which hub ran which function, e.g. "Charge@billing". */
const runs: string[] = [];

/** How long the test watches work for an unserved name stay where it is. */
const UNSERVED_WATCH_MS = 1_500;

await describePostgres("PostgreSQL: functions registered in only some processes", () => {
  const schema = randomSchema();
  const hubs: TaskHub[] = [];
  const logs = new Map<string, RecordingLogger>();

  /** A hub on its own PostgresStore object, as a separate process would have. */
  const hubOn = (label: string): TaskHub => {
    const logger = recordingLogger();
    logs.set(label, logger);
    const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, pool: { max: 3 } });
    const hub = new TaskHub({
      name: "shop",
      store,
      acceptUnregisteredNames: true,
      maxIdleMs: 30_000,
      logger,
    });
    hubs.push(hub);
    return hub;
  };

  /** Starts the hub and waits until other processes' changes reach it. */
  const start = async (hub: TaskHub): Promise<void> => {
    await hub.start();
    await (hub.store as PostgresStore).notificationsReady();
  };

  // The orders process: orders, reservations.
  const orders = hubOn("orders");
  orders.activity("Reserve", (item: string) => {
    runs.push("Reserve@orders");
    return `reserved ${item}`;
  });
  orders.orchestrator("PlaceOrder", function* (ctx) {
    const reserved = yield ctx.callActivity("Reserve", ctx.input);
    const receipt = yield ctx.callActivity("Charge", ctx.input); // registered in billing only
    runs.push("PlaceOrder@orders");
    return { reserved, receipt };
  });
  orders.orchestrator("PlaceAndNotify", function* (ctx) {
    const reserved = yield ctx.callActivity("Reserve", ctx.input);
    const notified = yield ctx.callActivity("Notify", reserved); // nobody serves it at first
    return { reserved, notified };
  });

  // The billing process: payments and audits.
  const billing = hubOn("billing");
  billing.activity("Charge", (item: string) => {
    runs.push("Charge@billing");
    return `receipt for ${item}`;
  });
  billing.orchestrator("Audit", function* (ctx) {
    runs.push("Audit@billing");
    return yield ctx.callActivity("Charge", ctx.input);
  });

  before(async () => {
    await Promise.all([start(orders), start(billing)]);
  });

  after(async () => {
    try {
      await Promise.all(hubs.map((h) => h.stop()));
    } finally {
      await dropSchema(schema);
    }
  });

  test("each hub runs only its own names; unserved work waits for a hub that has them", async () => {
    const client = orders.client;
    await client.startNew("PlaceOrder", { instanceId: "order-1", input: "desk" });
    await client.startNew("Audit", { instanceId: "audit-1", input: "lamp" });
    await client.startNew("Ship", { instanceId: "ship-1", input: "desk" }); // nobody has "Ship" yet
    await client.startNew("PlaceAndNotify", { instanceId: "notify-1", input: "chair" });

    const order = await client.waitForCompletion("order-1", { timeoutMs: 10_000 });
    assert.equal(order.runtimeStatus, "Completed");
    assert.deepEqual(order.output, { reserved: "reserved desk", receipt: "receipt for desk" });
    const audit = await client.waitForCompletion("audit-1", { timeoutMs: 10_000 });
    assert.equal(audit.runtimeStatus, "Completed");
    assert.equal(audit.output, "receipt for lamp");

    await eventually("notify-1 to wait for its Notify activity", async () => {
      const history = (await client.getStatus("notify-1", { showHistory: true }))?.history ?? [];
      return history.some((e) => e.kind === "TaskScheduled" && e.name === "Notify");
    });
    await sleep(UNSERVED_WATCH_MS);
    assert.equal((await client.getStatus("ship-1"))?.runtimeStatus, "Pending", "Ship waits unserved");
    const waiting = await client.getStatus("notify-1", { showHistory: true });
    assert.equal(waiting?.runtimeStatus, "Running");
    assert.ok(!waiting?.history?.some((e) => e.kind === "TaskCompleted" && e.taskScheduledId === 1));

    // The shipping process starts: it has "Ship" and "Notify", and takes the waiting work.
    const shipping = hubOn("shipping");
    shipping.activity("Notify", (text: string) => {
      runs.push("Notify@shipping");
      return `notified: ${text}`;
    });
    shipping.orchestrator("Ship", function* (ctx) {
      runs.push("Ship@shipping");
      return yield ctx.callActivity("Reserve", `${ctx.input} (packaging)`); // runs in orders
    });
    await start(shipping);

    const shipped = await client.waitForCompletion("ship-1", { timeoutMs: 10_000 });
    assert.equal(shipped.runtimeStatus, "Completed");
    assert.equal(shipped.output, "reserved desk (packaging)");
    const notified = await billing.client.waitForCompletion("notify-1", { timeoutMs: 10_000 });
    assert.deepEqual(notified.output, { reserved: "reserved chair", notified: "notified: reserved chair" });

    assert.deepEqual(
      [...new Set(runs)].sort(),
      [
        "Audit@billing",
        "Charge@billing",
        "Notify@shipping",
        "PlaceOrder@orders",
        "Reserve@orders",
        "Ship@shipping",
      ],
      "every function ran in the hub that registered it, and only there",
    );
    for (const [label, logger] of logs) {
      const complaints = logger.lines.filter((l) => l.level === "warn" || l.level === "error");
      assert.deepEqual(complaints, [], `engine warnings or errors in ${label}`);
    }
  });
});
