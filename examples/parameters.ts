/**
 * Passing several parameters: activities and orchestrators take one input and return one
 * output, so several values travel together as an object or a tuple. Both must be
 * JSON-serialisable (plain objects, arrays, strings, numbers, booleans, null).
 */
import type { ActivityRef, OrchestratorRef, TaskHub } from "refrain";

/** Input of the orchestrator: named parameters in an object. */
export interface OrderInput {
  customer: string;
  item: string;
  quantity: number;
  unitPriceCents: number;
}

/** Result of the orchestrator: several values returned as one object. */
export interface OrderSummary {
  customer: string;
  totalCents: number;
  message: string;
}

/** The functions this example registers. */
export interface ParametersExample {
  /** Activity with positional parameters, passed as a tuple: `[quantity, unitPriceCents]`. */
  multiply: ActivityRef<[number, number], number>;
  /** Activity with named parameters, passed as an object. */
  describeOrder: ActivityRef<{ customer: string; item: string; totalCents: number }, string>;
  /** Orchestrator: prices an order and describes it. */
  summarizeOrder: OrchestratorRef<OrderInput, OrderSummary>;
}

/** Registers the parameter-passing example on `hub`. */
export function register(hub: TaskHub): ParametersExample {
  // A tuple: destructure it in the parameter list, as with positional arguments.
  const multiply = hub.activity("Multiply", async ([a, b]: [number, number]) => a * b);

  // An object: destructure it by name; the order of properties does not matter.
  const describeOrder = hub.activity(
    "DescribeOrder",
    async ({ customer, item, totalCents }: { customer: string; item: string; totalCents: number }) =>
      `${customer} ordered ${item} for ${(totalCents / 100).toFixed(2)} EUR`,
  );

  const summarizeOrder = hub.orchestrator<OrderInput, OrderSummary>("SummarizeOrder", function* (ctx) {
    const { customer, item, quantity, unitPriceCents } = ctx.input;
    const totalCents = yield* ctx.callActivity(multiply, [quantity, unitPriceCents]);
    const message = yield* ctx.callActivity(describeOrder, { customer, item, totalCents });
    return { customer, totalCents, message };
  });

  return { multiply, describeOrder, summarizeOrder };
}
