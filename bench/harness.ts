/**
 * Runs a workload: one warm-up run, then `repeats` measured runs, each on a fresh store with a
 * fresh task hub (and fresh worker children for `workers` > 1), and summarises them. Around the
 * workload's own measurement it records the CPU seconds of the benchmark process
 * (`process.cpuUsage()`) plus those the worker children report, and the peak RSS of the benchmark
 * process sampled every 50 ms (children: their own peak, reported separately), and the machine's
 * 1-minute load average at the end of the run.
 */
import { loadavg } from "node:os";
import { TaskHub } from "refrain";
import { hubOptions, registerBenchFunctions } from "./functions.js";
import { cpuSecondsSince, RssSampler, type Summary, summarise } from "./measure.js";
import type { Progress } from "./output.js";
import { WorkerPool } from "./pool.js";
import { freshStore, type StoreKind } from "./stores.js";
import type { RunResult, Workload } from "./workload.js";

/** How a workload is run. */
export interface RunSettings {
  store: StoreKind;
  /** Worker processes serving the store: the benchmark process plus `workers - 1` children. */
  workers: number;
  /** maxConcurrentActivities and maxConcurrentOrchestrations of every hub. */
  concurrency: number;
  /** Measured runs after the warm-up. */
  repeats: number;
}

/** The summary of one workload at one size on one store. */
export interface WorkloadResult {
  workload: string;
  store: StoreKind;
  unit: string;
  repeats: number;
  primary: Summary;
  metrics: Record<string, Summary>;
}

/** One run on a fresh store; `label` names it in progress messages. */
async function runOnce(
  workload: Workload,
  size: number,
  settings: RunSettings,
  ui: Progress,
  label: string,
  warmup: boolean,
): Promise<RunResult> {
  const fresh = freshStore(settings.store);
  let pool: WorkerPool | undefined;
  let hub: TaskHub | undefined;
  try {
    hub = new TaskHub({ ...hubOptions(settings.concurrency), store: fresh.store });
    const fns = registerBenchFunctions(hub);
    await hub.start();
    if (settings.workers > 1) {
      ui.status(`${label}: starting ${settings.workers - 1} worker process(es)`, true);
      pool = await WorkerPool.start(fresh.spec, settings.workers - 1, settings.concurrency);
    }
    ui.status(`${label}: running`, true);
    pool?.mark();
    const sampler = new RssSampler();
    const cpuStart = process.cpuUsage();
    let result: RunResult;
    try {
      result = await workload.run({
        hub,
        fns,
        size,
        storeKind: settings.store,
        warmup,
        peakRssMb: () => sampler.peakMb(),
        progress: (text, force) => ui.status(`${label}: ${text}`, force),
        log: (text) => ui.log(text),
      });
    } finally {
      sampler.stop();
    }
    const cpuS = cpuSecondsSince(cpuStart);
    const peakRssMb = sampler.peakMb();
    const children = pool ? await pool.stop() : undefined;
    const metrics: Record<string, number> = {
      ...result.metrics,
      cpu_s: cpuS + (children?.cpuS ?? 0),
      peak_rss_mb: peakRssMb,
      workers: settings.workers,
      concurrency: settings.concurrency,
      // The machine may be shared: a 1-minute load average above the core count means contention.
      load_avg: loadavg()[0]!,
    };
    if (children) {
      metrics.bench_cpu_s = cpuS;
      metrics.worker_peak_rss_mb = children.peakRssMb;
    }
    return { primary: result.primary, metrics };
  } finally {
    pool?.kill();
    await hub?.stop();
    await fresh.dispose();
  }
}

/** Runs the warm-up and the measured runs of one workload at one size, and summarises them. */
export async function runWorkload(
  workload: Workload,
  size: number,
  settings: RunSettings,
  ui: Progress,
): Promise<WorkloadResult> {
  const where = settings.workers > 1 ? `${settings.store}×${settings.workers}` : settings.store;
  const name = `${workload.id}[${size}] ${where}`;
  const warmupSize = workload.warmupSize(size);
  const warm = await runOnce(workload, warmupSize, settings, ui, `${name} warm-up`, true);
  ui.log(`${name} warm-up (size ${warmupSize}): ${formatRun(warm, workload.unit)}`);
  const runs: RunResult[] = [];
  for (let i = 1; i <= settings.repeats; i++) {
    const run = await runOnce(workload, size, settings, ui, `${name} run ${i}/${settings.repeats}`, false);
    ui.log(`${name} run ${i}/${settings.repeats}: ${formatRun(run, workload.unit)}`);
    runs.push(run);
  }
  ui.clear();
  const metrics: Record<string, Summary> = {};
  for (const key of Object.keys(runs[0]!.metrics)) {
    metrics[key] = summarise(runs.map((run) => run.metrics[key]!));
  }
  return {
    workload: workload.id,
    store: settings.store,
    unit: workload.unit,
    repeats: runs.length,
    primary: summarise(runs.map((run) => run.primary)),
    metrics,
  };
}

function formatRun(run: RunResult, unit: string): string {
  const m = run.metrics;
  return (
    `${run.primary.toPrecision(4)} ${unit}, cpu ${m.cpu_s!.toFixed(2)} s, ` +
    `rss ${Math.round(m.peak_rss_mb!)} MB, load ${m.load_avg!.toFixed(1)}`
  );
}
