/**
 * The workloads W1–W4 of /work/shared/BENCH.md, written once against a small "session" interface
 * that every system implements, and the measuring loop around them: one warm-up run, then
 * `repeats` measured runs, each on a fresh session (fresh database, schema, file or server), with
 * CPU seconds, peak RSS and the 1-minute load average of every run, summarised as median/min/max.
 *
 * A system (systems/*.mjs) is `{ id, label, setup, check(), open() }`:
 * - `check()` resolves to `undefined` when the system can run here, else to the reason it cannot;
 * - `open()` resolves to a session `{ chain(x, steps), fanOut(n), fanOutChildren(n), close() }`,
 *   optionally with `serverUsage()` → `{ cpuS, peakRssMb }` for an out-of-process server.
 * `chain` starts one workflow of `steps` sequential steps on `x` and resolves to its result
 * (`x + steps`); `fanOut(n)` runs one workflow of `n` parallel steps and `fanOutChildren(n)` one
 * workflow of `n` child workflows (1 step each); both resolve to `n`.
 */
import { loadavg } from "node:os";

/** How long one measured run may take before it is abandoned as failed. */
export const RUN_TIMEOUT_MS = 10 * 60_000;

/** Steps of each W1 and W2 workflow. */
const CHAIN_STEPS = 5;

/** The four workloads, by id. */
export const WORKLOADS = {
  W1: {
    id: "W1",
    title: "1,000 concurrent workflows × 5 sequential steps",
    unit: "s",
    size: 1000,
    async run(session, size) {
      const start = performance.now();
      await Promise.all(
        Array.from({ length: size }, async (_, i) => expect(await session.chain(i, CHAIN_STEPS), i + 5)),
      );
      const seconds = (performance.now() - start) / 1000;
      return { primary: seconds, metrics: { wf_per_s: size / seconds, workflows: size } };
    },
  },
  W2: {
    id: "W2",
    title: "200 sequential runs of one 5-step workflow (start → result)",
    unit: "ms",
    size: 200,
    async run(session, size) {
      const latencies = [];
      for (let i = 0; i < size; i++) {
        const t0 = performance.now();
        expect(await session.chain(i, CHAIN_STEPS), i + CHAIN_STEPS);
        latencies.push(performance.now() - t0);
      }
      const p50 = percentile(latencies, 50);
      return {
        primary: p50,
        metrics: {
          p50_ms: p50,
          p95_ms: percentile(latencies, 95),
          p99_ms: percentile(latencies, 99),
          mean_ms: latencies.reduce((a, b) => a + b, 0) / latencies.length,
          runs: size,
        },
      };
    },
  },
  W3: {
    id: "W3",
    title: "one workflow fans out 1,000 steps",
    unit: "s",
    size: 1000,
    async run(session, size) {
      const start = performance.now();
      expect(await session.fanOut(size), size);
      const seconds = (performance.now() - start) / 1000;
      return { primary: seconds, metrics: { steps_per_s: size / seconds, size } };
    },
  },
  W4: {
    id: "W4",
    title: "one workflow starts 1,000 child workflows (1 step each)",
    unit: "s",
    size: 1000,
    async run(session, size) {
      const start = performance.now();
      expect(await session.fanOutChildren(size), size);
      const seconds = (performance.now() - start) / 1000;
      return { primary: seconds, metrics: { children_per_s: size / seconds, size } };
    },
  },
};

/** Throws unless a workflow returned what it should. */
function expect(actual, wanted) {
  if (actual !== wanted) throw new Error(`workflow returned ${JSON.stringify(actual)}, expected ${wanted}`);
}

/** The `p`-th percentile (0..100), nearest-rank method. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Median (mean of the middle two for an even count), min and max. */
export function summarise(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Rounds for display and JSON: integers from 100 up, 2 decimals from 1, else 3 decimals. */
export function round(value) {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value);
  if (abs >= 1) return Math.round(value * 100) / 100;
  return Math.round(value * 1000) / 1000;
}

/** Rejects after `ms` unless `promise` settles first. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Peak RSS of this process, sampled every 50 ms until `stop()`. */
function rssSampler() {
  let peak = process.memoryUsage.rss();
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak / (1024 * 1024);
    },
  };
}

/**
 * One run of `workload` on a fresh session of `system`. The session answers one 1-step workflow
 * before the clock starts (a readiness check, the same for every system: a fresh Restate server
 * needs a moment before its partitions take invocations).
 */
async function runOnce(system, workload, size) {
  const session = await system.open();
  try {
    await withTimeout(session.chain(0, 1), 60_000, `${system.id} readiness check`);
    const serverBefore = session.serverUsage?.();
    const sampler = rssSampler();
    const cpuStart = process.cpuUsage();
    let result;
    let peakRssMb;
    try {
      result = await withTimeout(
        workload.run(session, size),
        RUN_TIMEOUT_MS,
        `${workload.id} on ${system.id}`,
      );
    } finally {
      peakRssMb = sampler.stop();
    }
    const cpu = process.cpuUsage(cpuStart);
    const metrics = {
      ...result.metrics,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      peak_rss_mb: peakRssMb,
      load_avg: loadavg()[0],
    };
    const serverAfter = session.serverUsage?.();
    if (serverBefore && serverAfter) {
      metrics.server_cpu_s = serverAfter.cpuS - serverBefore.cpuS;
      metrics.server_peak_rss_mb = serverAfter.peakRssMb;
    }
    return { primary: result.primary, metrics };
  } finally {
    await session.close();
  }
}

/**
 * The warm-up and the measured runs of one workload on one system, summarised in the BENCH.md
 * shape (`workload`, `store`, `median`, `min`, `max`, `unit`, `repeats`, `metrics`).
 * `log` receives one line per run; `size` overrides the workload's size (for smoke tests).
 */
export async function runWorkload(system, workload, repeats, log, size = workload.size) {
  const name = `${workload.id} ${system.id}`;
  const warm = await runOnce(system, workload, size);
  log(`${name} warm-up: ${formatRun(warm, workload.unit)}`);
  const runs = [];
  for (let i = 1; i <= repeats; i++) {
    const run = await runOnce(system, workload, size);
    log(`${name} run ${i}/${repeats}: ${formatRun(run, workload.unit)}`);
    runs.push(run);
  }
  const metrics = {};
  for (const key of Object.keys(runs[0].metrics)) {
    const s = summarise(runs.map((run) => run.metrics[key]));
    metrics[key] = { median: round(s.median), min: round(s.min), max: round(s.max) };
  }
  const primary = summarise(runs.map((run) => run.primary));
  return {
    workload: workload.id,
    store: system.id,
    median: round(primary.median),
    min: round(primary.min),
    max: round(primary.max),
    unit: workload.unit,
    repeats: runs.length,
    metrics,
  };
}

function formatRun(run, unit) {
  const m = run.metrics;
  const server = m.server_cpu_s === undefined ? "" : `, server cpu ${m.server_cpu_s.toFixed(2)} s`;
  return (
    `${run.primary.toPrecision(4)} ${unit}, cpu ${m.cpu_s.toFixed(2)} s${server}, ` +
    `rss ${Math.round(m.peak_rss_mb)} MB, load ${m.load_avg.toFixed(2)}`
  );
}
