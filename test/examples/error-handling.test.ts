import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { register, TravelAgency, type Trip } from "../../examples/error-handling.js";
import type { TaskHub } from "../../src/index.js";
import { withExampleHub } from "./hub.js";

const trip: Trip = { tripId: "t1", traveller: "Ada", city: "Lima" };

/** Registers the examples with an agency the test can inspect afterwards. */
function withAgency(agency: TravelAgency) {
  return (hub: TaskHub) => register(hub, agency);
}

describe("retries", () => {
  test("a transient failure is retried until the activity succeeds", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input = { failuresBeforeSuccess: 2, firstRetryIntervalMs: 10 };
      const status = await finished(await hub.client.startNew(refs.retryFlakyCall, { input }));
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, { attempts: 3, reply: "OK" });
      const history = (await hub.client.getStatus(status.instanceId, { showHistory: true }))?.history ?? [];
      assert.equal(history.filter((e) => e.kind === "TaskFailed").length, 2);
      assert.equal(history.filter((e) => e.kind === "TimerFired").length, 2, "one durable timer per retry");
    }));

  test("when every attempt fails, the instance fails with the last error", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const input = { failuresBeforeSuccess: 5, maxAttempts: 3, firstRetryIntervalMs: 10 };
      const status = await finished(await hub.client.startNew(refs.retryFlakyCall, { input }));
      assert.equal(status.runtimeStatus, "Failed");
      const history = (await hub.client.getStatus(status.instanceId, { showHistory: true }))?.history ?? [];
      assert.equal(history.filter((e) => e.kind === "TaskScheduled").length, 3);
      assert.equal(status.failureDetails?.name, "TaskFailedError");
      assert.equal(status.failureDetails?.cause?.message, "service unavailable (attempt 3)");
    }));
});

describe("booking saga", () => {
  test("books flight, hotel and car when everything is available", () => {
    const agency = new TravelAgency();
    return withExampleHub(withAgency(agency), "memory", async ({ hub, refs, finished }) => {
      const status = await finished(await hub.client.startNew(refs.bookTrip, { input: trip }));
      assert.deepEqual(status.output, {
        tripId: "t1",
        status: "Booked",
        bookings: [
          { service: "flight", confirmation: "FLIGHT-t1" },
          { service: "hotel", confirmation: "HOTEL-t1" },
          { service: "car", confirmation: "CAR-t1" },
        ],
      });
      assert.deepEqual(agency.journal, ["book flight t1", "book hotel t1", "book car t1"]);
    });
  });

  test("a failed car booking cancels the hotel, then the flight, and reports the error details", () => {
    const agency = new TravelAgency({ car: ["Lima"] });
    return withExampleHub(withAgency(agency), "memory", async ({ hub, refs, finished }) => {
      const status = await finished(await hub.client.startNew(refs.bookTrip, { input: trip }));
      assert.equal(status.runtimeStatus, "Completed");
      assert.deepEqual(status.output, {
        tripId: "t1",
        status: "RolledBack",
        failure: {
          service: "car",
          error: "SoldOutError: no car available in Lima",
          code: "SOLD_OUT",
          properties: { service: "car", city: "Lima" },
        },
        cancelled: ["hotel", "flight"],
      });
      assert.deepEqual(agency.journal, [
        "book flight t1",
        "book hotel t1",
        "cancel hotel HOTEL-t1",
        "cancel flight FLIGHT-t1",
      ]);
    });
  });

  test("a failed hotel booking cancels only the flight and never books a car", () => {
    const agency = new TravelAgency({ hotel: ["Lima"] });
    return withExampleHub(withAgency(agency), "memory", async ({ hub, refs, finished }) => {
      const status = await finished(await hub.client.startNew(refs.bookTrip, { input: trip }));
      assert.deepEqual((status.output as { cancelled: string[] }).cancelled, ["flight"]);
      assert.deepEqual(agency.journal, ["book flight t1", "cancel flight FLIGHT-t1"]);
    });
  });

  test("sold-out services elsewhere do not affect this trip", () => {
    const agency = new TravelAgency({ car: ["Reykjavik"] });
    return withExampleHub(withAgency(agency), "memory", async ({ hub, refs, finished }) => {
      const status = await finished(await hub.client.startNew(refs.bookTrip, { input: trip }));
      assert.equal((status.output as { status: string }).status, "Booked");
    });
  });
});
