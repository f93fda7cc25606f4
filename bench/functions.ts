/**
 * The functions every benchmark workload runs, registered identically by the benchmark process
 * and by its worker processes (bench/worker.ts) so that any of them can serve any work item.
 * Every activity is trivial (returns its input + 1, no sleep): the engine is measured, not the work.
 */
import {
  type ActivityRef,
  type EntityFunction,
  EntityId,
  type EntityRef,
  type OrchestrationContext,
  type OrchestratorRef,
  type TaskHub,
  type TaskHubOptions,
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

/*
 * The functions are defined once per process, as an application defines them, and every run's
 * fresh hub registers these same function objects. (Defining them anew for each run would give
 * each run's generators and activities new hidden classes and call targets, so V8 would keep
 * deoptimizing the engine's hot paths from one run to the next: a cost no long-running
 * application pays.) The bodies name each other through typed references, which carry only a
 * name: whichever hub registers that name serves the call.
 */
const inc: ActivityRef<number, number> = { kind: "activity", name: "Inc" };
const child: OrchestratorRef<number, number> = { kind: "orchestrator", name: "Child" };

const incBody = (x: number): number => x + 1;

function* chainBody(ctx: OrchestrationContext<ChainInput>) {
  let x = ctx.input.x;
  for (let i = 0; i < ctx.input.steps; i++) x = yield* ctx.callActivity(inc, x);
  return x;
}

function* fanOutBody(ctx: OrchestrationContext<number>) {
  const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callActivity(inc, i));
  const results = yield* ctx.Task.all(tasks);
  return results.length;
}

function* childBody(ctx: OrchestrationContext<number>) {
  return yield* ctx.callActivity(inc, ctx.input);
}

function* fanOutChildrenBody(ctx: OrchestrationContext<number>) {
  const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callSubOrchestrator(child, i));
  const results = yield* ctx.Task.all(tasks);
  return results.length;
}

function* timerBody(ctx: OrchestrationContext<string>) {
  yield* ctx.createTimer(new Date(ctx.input));
  return ctx.input;
}

function* waitEventBody(ctx: OrchestrationContext<null>) {
  const value = yield* ctx.waitForExternalEvent<number>(W7_EVENT);
  return value + 1;
}

const sinkBody: EntityFunction<number> = (ctx) => {
  ctx.setState(ctx.getState(() => 0) + 1);
};

// biome-ignore lint/correctness/useYield: signals are one-way; the orchestrator never waits
function* signallerBody(ctx: OrchestrationContext<SignallerInput>) {
  const { prefix, entities, signals } = ctx.input;
  for (let i = 0; i < signals; i++) ctx.signalEntity(new EntityId("Sink", `${prefix}${i % entities}`), "add");
  return signals;
}

/** Registers the benchmark functions on `hub` (before `start()`). */
export function registerBenchFunctions(hub: TaskHub): BenchFunctions {
  return {
    inc: hub.activity("Inc", incBody),
    chain: hub.orchestrator("Chain", chainBody),
    fanOut: hub.orchestrator("FanOut", fanOutBody),
    child: hub.orchestrator("Child", childBody),
    fanOutChildren: hub.orchestrator("FanOutChildren", fanOutChildrenBody),
    timer: hub.orchestrator("Timer", timerBody),
    waitEvent: hub.orchestrator("WaitEvent", waitEventBody),
    sink: hub.entity<number>("Sink", sinkBody),
    signaller: hub.orchestrator("Signaller", signallerBody),
  };
}
