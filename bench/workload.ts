/**
 * What a workload is (one row of BENCH.md), what one measured run of it gets and returns, and the
 * helpers workloads share: checking an instance's result and waiting until no instance has a
 * given status.
 */
import type { OrchestrationStatus, RuntimeStatus, Store, TaskHub } from "refrain";
import { BENCH_HUB, type BenchFunctions } from "./functions.js";
import type { StoreKind } from "./stores.js";

/** Longest wait for any instance; a benchmark that takes longer is broken, not slow. */
export const WAIT_MS = 3_600_000;

/** Everything one run of a workload may use. */
export interface WorkloadRun {
  /** The started task hub on a fresh store (worker children, if any, serve the same store). */
  hub: TaskHub;
  /** The registered benchmark functions. */
  fns: BenchFunctions;
  /** The workload's size (workflows, runs, steps, timers or instances; see each workload). */
  size: number;
  /** The store kind, for messages. */
  storeKind: StoreKind;
  /** True for the warm-up run, whose result is discarded. */
  warmup: boolean;
  /** The benchmark process's peak RSS so far in this run, in MB. */
  peakRssMb: () => number;
  /** Replaces the progress status line. */
  progress: (text: string, force?: boolean) => void;
  /** Prints a log line to stderr. */
  log: (text: string) => void;
}

/** What one run measured: the primary figure (in the workload's unit) and further metrics. */
export interface RunResult {
  primary: number;
  metrics: Record<string, number>;
}

/** One workload of BENCH.md. */
export interface Workload {
  /** "W1" … "W8". */
  id: string;
  /** One line describing it. */
  title: string;
  /** Unit of the primary figure. */
  unit: string;
  /** Size when no option says otherwise. */
  defaultSize: number;
  /** Size of the warm-up run for a measured size (smaller for the slowest workloads). */
  warmupSize: (size: number) => number;
  /** One measured run on a fresh store. */
  run: (r: WorkloadRun) => Promise<RunResult>;
}

/** Throws unless the instance completed with `expected` as its output. */
export function expectOutput(status: OrchestrationStatus, expected: unknown): void {
  if (status.runtimeStatus === "Completed" && status.output === expected) return;
  const detail = status.failureDetails ? `: ${status.failureDetails.message}` : "";
  throw new Error(
    `instance ${status.instanceId} (${status.name}) ended ${status.runtimeStatus} with output ` +
      `${JSON.stringify(status.output)}, expected ${JSON.stringify(expected)}${detail}`,
  );
}

/** How many replay steps (OrchestratorStarted events) the instance's history records. */
export async function countReplaySteps(hub: TaskHub, instanceId: string): Promise<number> {
  const status = await hub.client.getStatus(instanceId, { showHistory: true });
  return status?.history?.filter((e) => e.kind === "OrchestratorStarted").length ?? 0;
}

/**
 * Resolves once no instance of the hub has one of `statuses`, asked every `pollMs`. With `expected`
 * (a count of notifications that says when the wait should be over), the store is asked only once
 * the count says so, or every second in case a notification was missed: a listing of instances
 * by status walks the instances table, which would slow down the very work being measured.
 */
export async function waitUntilNone(
  hub: TaskHub,
  statuses: RuntimeStatus[],
  pollMs: number,
  expected?: { count: () => number; total: number },
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastAsked = 0;
  for (;;) {
    const due = !expected || expected.count() >= expected.total || Date.now() - lastAsked >= 1000;
    if (due) {
      lastAsked = Date.now();
      const page = await hub.client.listInstances({ runtimeStatus: statuses, pageSize: 1 });
      if (page.instances.length === 0) return;
    }
    if (Date.now() > deadline) throw new Error(`instances still ${statuses.join("/")} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, expected ? Math.min(pollMs, 20) : pollMs));
  }
}

/** A change notification of the store. */
export type Notification = Parameters<Parameters<Store["subscribe"]>[1]>[0];

/**
 * Counts the store's notifications matching `match` (changes made by other processes included
 * where the store forwards them). For progress display only: notifications are not a reliable
 * count. Returns the counter and its unsubscribe function.
 */
export function countNotifications(
  hub: TaskHub,
  match: (n: Notification) => boolean,
): { count: () => number; stop: () => void } {
  let n = 0;
  const stop = hub.store.subscribe(BENCH_HUB, (event) => {
    if (match(event)) n++;
  });
  return { count: () => n, stop };
}
