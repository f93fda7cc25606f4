/**
 * The functions every benchmark workload runs, registered identically by the benchmark process
 * and by its worker processes (bench/worker.ts) so that any of them can serve any work item.
 * Every activity is trivial (returns its input + 1, no sleep): the engine is measured, not the work.
 */
import type {
  ActivityRef,
  EntityRef,
  OrchestrationContext,
  OrchestratorRef,
  TaskHub,
  TaskHubOptions,
} from "refrain";

/** The task hub name every benchmark process uses. */
export const BENCH_HUB = "bench";

/** Name of the external event the W7 instances wait for. */
export const W7_EVENT = "Go";

/** Input of the Chain orchestrator: a start value and a number of sequential steps. */
export interface ChainInput {
  /** The value the first step increments. */
  x: number;
  /** How many sequential activity calls to make. */
  steps: number;
}

/** References to every registered benchmark function. */
export interface BenchFunctions {
  /** Activity: returns its input + 1. */
  inc: ActivityRef<number, number>;
  /** W1, W2, W5: `steps` sequential calls of `inc`; returns `x + steps`. */
  chain: OrchestratorRef<ChainInput, number>;
  /** W3: `n` parallel calls of `inc` awaited with Task.all; returns how many completed. */
  fanOut: OrchestratorRef<number, number>;
  /** W4: one call of `inc`; the children of `fanOutChildren`. */
  child: OrchestratorRef<number, number>;
  /** W4: starts `n` child orchestrations in parallel and awaits all; returns how many completed. */
  fanOutChildren: OrchestratorRef<number, number>;
  /** W6: waits for one durable timer due at the given ISO time; returns that time. */
  timer: OrchestratorRef<string, string>;
  /** W7: waits for the external event `W7_EVENT`; returns its data + 1. */
  waitEvent: OrchestratorRef<null, number>;
  /** W8: an entity counting the "add" signals it received. */
  sink: EntityRef<number>;
  /** W8: signals "add" `signals` times, round-robin over `entities` sinks keyed `<prefix><i>`. */
  signaller: OrchestratorRef<SignallerInput, number>;
}

/** Input of the Signaller orchestrator. */
export interface SignallerInput {
  prefix: string;
  entities: number;
  signals: number;
}

/**
 * Hub settings of every benchmark process: both concurrency limits are `concurrency` (100, the
 * hub's default, unless `--concurrency` says otherwise).
 */
export function hubOptions(
  concurrency: number,
): Pick<TaskHubOptions, "name" | "maxConcurrentActivities" | "maxConcurrentOrchestrations"> {
  return { name: BENCH_HUB, maxConcurrentActivities: concurrency, maxConcurrentOrchestrations: concurrency };
}

/** Registers the benchmark functions on `hub` (before `start()`). */
export function registerBenchFunctions(hub: TaskHub): BenchFunctions {
  const inc = hub.activity("Inc", (x: number) => x + 1);

  const chain = hub.orchestrator("Chain", function* (ctx: OrchestrationContext<ChainInput>) {
    let x = ctx.input.x;
    for (let i = 0; i < ctx.input.steps; i++) x = yield* ctx.callActivity(inc, x);
    return x;
  });

  const fanOut = hub.orchestrator("FanOut", function* (ctx: OrchestrationContext<number>) {
    const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callActivity(inc, i));
    const results = yield* ctx.Task.all(tasks);
    return results.length;
  });

  const child = hub.orchestrator("Child", function* (ctx: OrchestrationContext<number>) {
    return yield* ctx.callActivity(inc, ctx.input);
  });

  const fanOutChildren = hub.orchestrator("FanOutChildren", function* (ctx: OrchestrationContext<number>) {
    const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callSubOrchestrator(child, i));
    const results = yield* ctx.Task.all(tasks);
    return results.length;
  });

  const timer = hub.orchestrator("Timer", function* (ctx: OrchestrationContext<string>) {
    yield* ctx.createTimer(new Date(ctx.input));
    return ctx.input;
  });

  const waitEvent = hub.orchestrator("WaitEvent", function* (ctx: OrchestrationContext<null>) {
    const value = yield* ctx.waitForExternalEvent<number>(W7_EVENT);
    return value + 1;
  });

  const sink = hub.entity<number>("Sink", (ctx) => {
    ctx.setState(ctx.getState(() => 0) + 1);
  });

  // biome-ignore lint/correctness/useYield: signals are one-way; the orchestrator never waits
  const signaller = hub.orchestrator("Signaller", function* (ctx: OrchestrationContext<SignallerInput>) {
    const { prefix, entities, signals } = ctx.input;
    for (let i = 0; i < signals; i++) ctx.signalEntity(sink.id(`${prefix}${i % entities}`), "add");
    return signals;
  });

  return { inc, chain, fanOut, child, fanOutChildren, timer, waitEvent, sink, signaller };
}
