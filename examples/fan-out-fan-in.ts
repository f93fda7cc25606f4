/**
 * Fan-out/fan-in: start many activities at once, then wait for all of them and aggregate.
 *
 * Scheduling a task does not wait for it; `ctx.Task.all` does. The work items run in parallel
 * on any worker serving the hub, and the orchestrator resumes once every result is recorded.
 */
import type { ActivityRef, OrchestrationContext, OrchestratorRef, TaskHub } from "refrain";

/** Input of the fan-out/fan-in orchestrator. */
export interface FanOutInput {
  /** How many work items to create. */
  itemCount: number;
}

/** Result of the fan-out/fan-in orchestrator. */
export interface FanOutResult {
  /** The work items that were processed, in order. */
  items: number[];
  /** The per-item results, in the same order as `items`. */
  results: number[];
  /** The sum of all results. */
  total: number;
}

/** The functions this example registers. */
export interface FanOutFanInExample {
  /** Activity: lists the work to do (here: the numbers 1..itemCount). */
  getWorkItems: ActivityRef<number, number[]>;
  /** Activity: processes one work item (here: squares it). */
  processWorkItem: ActivityRef<number, number>;
  /** Orchestrator: processes every work item in parallel and sums the results. */
  sumOfSquares: OrchestratorRef<FanOutInput, FanOutResult>;
}

/** Registers the fan-out/fan-in example on `hub`. */
export function register(hub: TaskHub): FanOutFanInExample {
  // In a real app this might list files in a bucket or rows in a table.
  const getWorkItems = hub.activity("GetWorkItems", async (count: number) =>
    Array.from({ length: count }, (_, i) => i + 1),
  );

  // Stands in for an expensive, independent computation per item.
  const processWorkItem = hub.activity("ProcessWorkItem", async (item: number) => item * item);

  const sumOfSquares = hub.orchestrator("SumOfSquares", function* (ctx: OrchestrationContext<FanOutInput>) {
    const items = yield* ctx.callActivity(getWorkItems, ctx.input.itemCount);

    // Fan out: schedule one activity per item without waiting for any of them yet...
    const tasks = items.map((item) => ctx.callActivity(processWorkItem, item));

    // ...fan in: wait until all of them have finished. Results keep the order of `tasks`.
    const results = yield* ctx.Task.all(tasks);

    const total = results.reduce((sum, value) => sum + value, 0);
    return { items, results, total };
  });

  return { getWorkItems, processWorkItem, sumOfSquares };
}
