/**
 * The demo's instances: one per example pattern, each with a fixed, readable instance ID so
 * that a second run finds (and resumes) what the first one started.
 */

import type { TransferResult } from "../../examples/bank-transfer.js";
import type { TripResult } from "../../examples/error-handling.js";
import type { FanOutResult } from "../../examples/fan-out-fan-in.js";
import type { AllExamples } from "../../examples/index.js";
import type { FleetResult } from "../../examples/sub-orchestrations.js";
import type { OrchestratorRef } from "../index.js";

/** One demo instance: what to start, and how to show its result. */
export interface DemoScenario {
  instanceId: string;
  orchestrator: OrchestratorRef<unknown, unknown>;
  input: unknown;
  /** One-line summary of the output; JSON when absent. */
  summarize?: (output: unknown) => string;
  /** For the human-interaction demo: raise this event while the instance runs. */
  raise?: { eventName: string; data: unknown; afterMs: number };
}

/** Builds a scenario with its input and summary checked against the orchestrator's types. */
function scenario<I, O>(
  instanceId: string,
  orchestrator: OrchestratorRef<I, O>,
  input: I,
  extra: { summarize?: (output: O) => string; raise?: DemoScenario["raise"] } = {},
): DemoScenario {
  return { instanceId, orchestrator, input, ...extra } as DemoScenario;
}

/** The cities the demo's travel agency has no cars in, so that the saga has to compensate. */
export const SOLD_OUT_CAR_CITIES = ["Reykjavik"];

/** Delay before the demo answers the approval request itself. */
const APPROVAL_DELAY_MS = 1_500;

/** The demo instances, in the order they are started. */
export function demoScenarios(examples: AllExamples): DemoScenario[] {
  const { chaining, fanOutFanIn, monitor, approval, subOrchestrations, errorHandling, parameters } = examples;
  const { counter, bank, aggregator } = examples;
  const approvalRequest = { request: "buy 3 laptops", approver: "alice", escalateTo: "bob" };
  return [
    scenario("demo-chaining", chaining.helloCities, ["Tokyo", "Seattle", "London"]),
    scenario(
      "demo-fan-out",
      fanOutFanIn.sumOfSquares,
      { itemCount: 10 },
      { summarize: (o: FanOutResult) => `total ${o.total} over ${o.items.length} parallel work items` },
    ),
    scenario("demo-monitor", monitor.monitorJob, {
      jobId: "job-42",
      simulatedChecksUntilDone: 4,
      pollIntervalMs: 500,
      timeoutMs: 60_000,
    }),
    scenario(
      "demo-approval-approved",
      approval.approvalWorkflow,
      { ...approvalRequest, timeoutMs: 10 * 60_000 },
      { raise: { eventName: "Approval", data: true, afterMs: APPROVAL_DELAY_MS } },
    ),
    scenario("demo-approval-timeout", approval.approvalWorkflow, { ...approvalRequest, timeoutMs: 2_500 }),
    scenario(
      "demo-sub-orchestrations",
      subOrchestrations.provisionFleet,
      { deviceIds: ["sensor-1", "sensor-2", "sensor-3"] },
      {
        summarize: (o: FleetResult) =>
          `provisioned ${o.provisioned.map((d) => `${d.deviceId} (config v${d.configVersion})`).join(", ")}`,
      },
    ),
    scenario(
      "demo-saga",
      errorHandling.bookTrip,
      { tripId: "trip-1", traveller: "Ada", city: SOLD_OUT_CAR_CITIES[0]! },
      { summarize: summarizeTrip },
    ),
    scenario("demo-retry", errorHandling.retryFlakyCall, {
      failuresBeforeSuccess: 2,
      firstRetryIntervalMs: 200,
    }),
    scenario("demo-parameters", parameters.summarizeOrder, {
      customer: "Ada",
      item: "notebooks",
      quantity: 3,
      unitPriceCents: 1250,
    }),
    scenario(
      "demo-counter",
      counter.addAndRead,
      { key: "demo", amount: 1 },
      { summarize: (value: number) => `counter @counter@demo is now ${value}` },
    ),
    scenario(
      "demo-transfer",
      bank.transfer,
      { from: "alice", to: "bob", amount: 30 },
      {
        summarize: (r: TransferResult) =>
          `${r.status} inside a critical section: alice ${r.fromBalance}, bob ${r.toBalance}`,
      },
    ),
    scenario(
      "demo-aggregator",
      aggregator.collectReadings,
      { deviceId: "sensor-1", count: 10 },
      { summarize: (n: number) => `${n} readings signalled to entity @aggregator@sensor-1` },
    ),
  ];
}

function summarizeTrip(result: TripResult): string {
  if (result.status === "Booked") return `booked ${result.bookings.map((b) => b.confirmation).join(", ")}`;
  return `rolled back after ${result.failure.error} (code ${result.failure.code}); cancelled ${result.cancelled.join(", ")}`;
}
