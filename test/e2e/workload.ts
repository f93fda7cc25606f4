/**
 * The mixed workload of the crash tests, shared by the worker process and the tests so both agree:
 * the registrations (activities that log every execution to a counts file, and one orchestrator per
 * kind of durable step), the instance plan, and the oracle that says what each instance must return.
 */
import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { ActivityContext, OrchestrationContext, TaskHub } from "../../src/index.js";

/** The kinds of orchestration in the workload, one orchestrator each. */
export const WORKLOAD_KINDS = ["chain", "fanout", "timer", "event", "parent", "retry"] as const;

/** One kind of orchestration in the workload. */
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** Orchestrator name of each kind. */
export const ORCHESTRATOR_NAMES: Readonly<Record<WorkloadKind, string>> = {
  chain: "Chain",
  fanout: "FanOut",
  timer: "TimerThenWork",
  event: "AwaitApproval",
  parent: "Parent",
  retry: "RetryOnce",
};

/** The event the "event" orchestrator waits for. */
export const APPROVAL_EVENT = "Approval";

/** Steps of a chain, branches of a fan-out, children of a parent. */
const CHAIN_LENGTH = 5;
const FAN_OUT_WIDTH = 8;
const CHILD_COUNT = 3;
/** How far ahead the "timer" orchestrator's durable timer fires. */
const TIMER_DELAY_MS = 300;

/** One planned instance: its ID, kind and input. */
export interface PlannedInstance {
  instanceId: string;
  kind: WorkloadKind;
  input: number;
}

/** A deterministic, order-sensitive mixing step: the work of the "Mix" activity. */
export function mix(value: number, salt: number): number {
  return (value * 31 + salt * 7 + 1) % 1_000_003;
}

/** The data the test raises as the approval event of an "event" instance with this input. */
export function approvalData(input: number): number {
  return input * 2 + 1;
}

/** What an instance of `kind` with `input` must return: the oracle, a pure function. */
export function expectedOutput(kind: WorkloadKind, input: number): unknown {
  switch (kind) {
    case "chain": {
      let v = input;
      for (let step = 0; step < CHAIN_LENGTH; step++) v = mix(v, step);
      return v;
    }
    case "fanout": {
      let sum = 0;
      for (let i = 0; i < FAN_OUT_WIDTH; i++) sum += (input + i) * (input + i);
      return sum;
    }
    case "timer":
      return mix(input, 100);
    case "event":
      return mix(mix(input, 1) + approvalData(input), 2);
    case "parent":
      return Array.from({ length: CHILD_COUNT }, (_, k) => mix(input * 10 + k, 300));
    case "retry":
      return { value: mix(input, 400), attempt: 2 };
  }
}

/** How many activities, timers and sub-orchestrations one instance of a kind schedules (children excluded). */
export interface ScheduledCounts {
  activities: number;
  timers: number;
  children: number;
}

/** What each kind schedules in its own history when nothing is duplicated. */
export const EXPECTED_SCHEDULED: Readonly<Record<WorkloadKind | "child", ScheduledCounts>> = {
  chain: { activities: CHAIN_LENGTH, timers: 0, children: 0 },
  fanout: { activities: FAN_OUT_WIDTH, timers: 0, children: 0 },
  timer: { activities: 1, timers: 1, children: 0 },
  event: { activities: 2, timers: 0, children: 0 },
  parent: { activities: 0, timers: 0, children: CHILD_COUNT },
  retry: { activities: 2, timers: 1, children: 0 },
  child: { activities: 1, timers: 0, children: 0 },
};

/** `count` instances cycling through every kind, with IDs `<prefix><kind>-<n>` and distinct inputs. */
export function planInstances(count: number, prefix = ""): PlannedInstance[] {
  return Array.from({ length: count }, (_, n) => {
    const kind = WORKLOAD_KINDS[n % WORKLOAD_KINDS.length]!;
    return { instanceId: `${prefix}${kind}-${n}`, kind, input: 1000 + n * 17 };
  });
}

/**
 * Registers the workload's activities and orchestrators on `hub`. Every activity execution that
 * runs to its end appends its idempotency key as one line to `countsFile` (synchronously, with
 * O_APPEND, so the line is on disk before the activity returns) after a small random sleep that
 * widens the crash windows.
 */
export function registerWorkload(hub: TaskHub, countsFile: string): void {
  const finish = async <T>(ctx: ActivityContext, value: T): Promise<T> => {
    await sleep(1 + Math.floor(Math.random() * 20));
    appendFileSync(countsFile, `${ctx.idempotencyKey}\n`);
    return value;
  };
  const mixActivity = hub.activity("Mix", (input: [number, number], ctx) => finish(ctx, mix(...input)));
  const square = hub.activity("Square", (x: number, ctx) => finish(ctx, x * x));
  const flaky = hub.activity("Flaky", async (x: number, ctx) => {
    await finish(ctx, undefined);
    if (ctx.attempt === 1) throw new Error(`first attempt of Flaky(${x}) fails on purpose`);
    return { value: mix(x, 400), attempt: ctx.attempt };
  });

  hub.orchestrator("Chain", function* (ctx: OrchestrationContext<number>) {
    let v = ctx.getInput<number>();
    for (let step = 0; step < CHAIN_LENGTH; step++) v = yield* ctx.callActivity(mixActivity, [v, step]);
    return v;
  });

  hub.orchestrator("FanOut", function* (ctx: OrchestrationContext<number>) {
    const n = ctx.getInput<number>();
    const tasks = Array.from({ length: FAN_OUT_WIDTH }, (_, i) => ctx.callActivity(square, n + i));
    const squares = yield* ctx.Task.all(tasks);
    return squares.reduce((a, b) => a + b, 0);
  });

  hub.orchestrator("TimerThenWork", function* (ctx: OrchestrationContext<number>) {
    yield* ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + TIMER_DELAY_MS));
    return yield* ctx.callActivity(mixActivity, [ctx.getInput<number>(), 100]);
  });

  hub.orchestrator("AwaitApproval", function* (ctx: OrchestrationContext<number>) {
    const before = yield* ctx.callActivity(mixActivity, [ctx.getInput<number>(), 1]);
    const approval = yield* ctx.waitForExternalEvent<number>(APPROVAL_EVENT);
    return yield* ctx.callActivity(mixActivity, [before + approval, 2]);
  });

  const child = hub.orchestrator("Child", function* (ctx: OrchestrationContext<number>) {
    return yield* ctx.callActivity(mixActivity, [ctx.getInput<number>(), 300]);
  });

  hub.orchestrator("Parent", function* (ctx: OrchestrationContext<number>) {
    const n = ctx.getInput<number>();
    const children = Array.from({ length: CHILD_COUNT }, (_, k) =>
      ctx.callSubOrchestrator(child, n * 10 + k),
    );
    return yield* ctx.Task.all(children);
  });

  hub.orchestrator("RetryOnce", function* (ctx: OrchestrationContext<number>) {
    return yield* ctx.callActivityWithRetry(
      flaky,
      { firstRetryIntervalMs: 200, maxNumberOfAttempts: 3 },
      ctx.getInput<number>(),
    );
  });
}
