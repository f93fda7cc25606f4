/**
 * The long-running workloads: W5 (one very long workflow: does a step cost more when the history
 * behind it is longer?), W6 (many durable timers due at the same instant: how late do they
 * fire?) and W7 (very many instances waiting for an external event: memory, and the latency of
 * one raised event).
 */
import { W7_EVENT } from "../functions.js";
import { forEachLimited, mean, percentile, rssMb } from "../measure.js";
import {
  countNotifications,
  expectOutput,
  WAIT_MS,
  type Workload,
  type WorkloadRun,
  waitUntilNone,
} from "../workload.js";

/**
 * W5: one workflow of `size` sequential steps. Each step's start time is the timestamp of the
 * OrchestratorStarted event of the replay step that handled the previous step's result (from the
 * history, so it works whichever process ran it). The primary figure is the cost of the last
 * block of 1,000 steps divided by the cost of the first (blocks are size/10 below 10,000 steps).
 */
export const w5: Workload = {
  id: "W5",
  title: "one workflow with 10,000 sequential steps: last 1,000 ÷ first 1,000",
  unit: "ratio",
  defaultSize: 10_000,
  warmupSize: (size) => Math.min(size, 1000),
  async run(r: WorkloadRun) {
    const { hub, fns, size } = r;
    const progress = countNotifications(hub, (n) => n.kind === "activity-work");
    const ticker = setInterval(() => r.progress(`~${progress.count()}/${size} steps`), 500);
    const start = performance.now();
    let history: { kind: string; timestamp: string }[];
    try {
      const id = await hub.client.startNew(fns.chain, { input: { x: 0, steps: size } });
      const status = await hub.client.waitForCompletion(id, { timeoutMs: WAIT_MS });
      expectOutput(status, size);
      history = (await hub.client.getStatus(id, { showHistory: true }))?.history ?? [];
    } finally {
      clearInterval(ticker);
      progress.stop();
    }
    const seconds = (performance.now() - start) / 1000;
    const starts = history
      .filter((e) => e.kind === "OrchestratorStarted")
      .map((e) => Date.parse(e.timestamp));
    if (starts.length !== size + 1) {
      r.log(`  W5: ${starts.length} replay steps for ${size} activity steps (expected ${size + 1})`);
    }
    const block = Math.max(1, Math.min(1000, Math.floor(size / 10)));
    const last = starts.length - 1;
    const firstMs = starts[block]! - starts[0]!;
    const lastMs = starts[last]! - starts[last - block]!;
    if (!r.warmup) {
      const tenth = Math.floor(last / 10);
      const deciles = Array.from({ length: 10 }, (_, k) => starts[(k + 1) * tenth]! - starts[k * tenth]!);
      r.log(`  W5 ${r.storeKind}: ms per ${tenth} steps, in order: ${deciles.join(" ")}`);
    }
    return {
      primary: lastMs / firstMs,
      metrics: {
        first_ms: firstMs,
        last_ms: lastMs,
        block_steps: block,
        total_s: seconds,
        steps_per_s: size / seconds,
        history_events: history.length,
        steps: size,
      },
    };
  },
};

/** Instances started at once while setting up W6 and W7. */
const START_CONCURRENCY = 64;

/** Setup time per timer measured by the previous W6 run, to size the margin of the next. */
let w6SetupMsPerTimer: number | undefined;

/**
 * Margin between the start of the W6 setup and the timers' due instant: twice the setup time the
 * previous run (the warm-up, at the same size: setup time is not linear in the number of timers
 * on every store) needed plus one second, or a generous 3 s + 3 ms per timer for the first run.
 * `BENCH_W6_MARGIN_MS` overrides it.
 */
function w6MarginMs(timers: number): number {
  const fixed = Number(process.env.BENCH_W6_MARGIN_MS);
  if (fixed > 0) return fixed;
  if (w6SetupMsPerTimer === undefined) return 3000 + 3 * timers;
  return Math.max(1000, Math.ceil(2 * w6SetupMsPerTimer * timers) + 1000);
}

/**
 * W6: `size` instances of the Timer orchestrator, one durable timer each, all due at the same
 * instant. Lateness of a timer = the timestamp of the OrchestratorStarted event of the step that
 * recorded its TimerFired (when the step actually ran) − the timer's due time, read from each
 * instance's history after all completed.
 */
export const w6: Workload = {
  id: "W6",
  title: "10,000 timers due at the same instant (one instance per timer): lateness",
  unit: "ms",
  defaultSize: 10_000,
  warmupSize: (size) => size,
  async run(r: WorkloadRun) {
    const { hub, fns, size } = r;
    const setupStart = performance.now();
    const fireAt = new Date(Date.now() + w6MarginMs(size));
    const ids = await forEachLimited(
      size,
      START_CONCURRENCY,
      () => hub.client.startNew(fns.timer, { input: fireAt.toISOString() }),
      (done) => r.progress(`started ${done}/${size} timer instances`),
    );
    await waitUntilNone(hub, ["Pending"], 100);
    const setupMs = performance.now() - setupStart;
    w6SetupMsPerTimer = setupMs / size;
    const spareMs = fireAt.getTime() - Date.now();
    if (spareMs < 0) {
      const message = `W6 setup took ${Math.round(setupMs)} ms and overran the due time by ${-spareMs} ms`;
      if (!r.warmup) throw new Error(`${message}; set BENCH_W6_MARGIN_MS higher`);
      r.log(`  ${message} (warm-up: the next runs use a larger margin)`);
    }
    r.progress(`all ${size} timers armed; due in ${spareMs} ms`, true);
    const completed = countNotifications(
      hub,
      (n) => n.kind === "instance-updated" && n.runtimeStatus === "Completed",
    );
    const ticker = setInterval(() => r.progress(`~${completed.count()}/${size} timers fired`), 250);
    try {
      await waitUntilNone(hub, ["Pending", "Running"], 100, { count: completed.count, total: size });
    } finally {
      clearInterval(ticker);
      completed.stop();
    }
    r.progress("reading histories", true);
    const lateness = await forEachLimited(size, 16, async (i) => {
      const status = await hub.client.getStatus(ids[i]!, { showHistory: true });
      if (!status) throw new Error(`W6 instance ${ids[i]} vanished`);
      expectOutput(status, fireAt.toISOString());
      return timerLatenessMs(status.history ?? [], status.instanceId);
    });
    const p50 = percentile(lateness, 50);
    const firstMs = Math.min(...lateness);
    const maxMs = Math.max(...lateness);
    return {
      primary: p50,
      metrics: {
        p50_ms: p50,
        p99_ms: percentile(lateness, 99),
        mean_ms: mean(lateness),
        // How late the first timer fired: the wake-up's delay, before any firing's cost.
        first_ms: firstMs,
        max_ms: maxMs,
        fired_per_s: size / (Math.max(1, maxMs - firstMs) / 1000),
        setup_s: setupMs / 1000,
        timers: size,
      },
    };
  },
};

/** Lateness of the one timer in an instance's history (see W6). */
function timerLatenessMs(
  history: readonly { kind: string; timestamp: string }[],
  instanceId: string,
): number {
  const fired = history.findIndex((e) => e.kind === "TimerFired");
  if (fired < 0) throw new Error(`W6 instance ${instanceId} has no TimerFired event`);
  for (let i = fired; i >= 0; i--) {
    const event = history[i]!;
    if (event.kind === "OrchestratorStarted") {
      const due = (history[fired] as { fireAt?: string }).fireAt;
      return Date.parse(event.timestamp) - Date.parse(due ?? "");
    }
  }
  throw new Error(`W6 instance ${instanceId}: no OrchestratorStarted before TimerFired`);
}

/**
 * W7: `size` instances of WaitEvent, all waiting for an external event. Primary figure: the
 * benchmark process's peak RSS over the run (setup included). Then one event is raised to one
 * instance and its latency to completion (raiseEvent → waitForCompletion returns) is measured.
 */
export const w7: Workload = {
  id: "W7",
  title: "100,000 instances waiting for an event: peak RSS, latency of one event",
  unit: "MB",
  defaultSize: 100_000,
  warmupSize: (size) => Math.min(size, 1000),
  async run(r: WorkloadRun) {
    const { hub, fns, size } = r;
    const setupStart = performance.now();
    const ids = await forEachLimited(
      size,
      START_CONCURRENCY,
      () => hub.client.startNew(fns.waitEvent, { input: null }),
      (done) => r.progress(`started ${done}/${size} waiting instances`),
    );
    const startedMs = performance.now() - setupStart;
    r.progress(`started ${size}; waiting for their first steps`, true);
    await waitUntilNone(hub, ["Pending"], 200);
    const setupMs = performance.now() - setupStart;
    const rssWaitingMb = rssMb();
    const target = ids[Math.floor(size / 2)]!;
    const t0 = performance.now();
    await hub.client.raiseEvent(target, W7_EVENT, 1);
    const status = await hub.client.waitForCompletion(target, { timeoutMs: WAIT_MS });
    const latencyMs = performance.now() - t0;
    expectOutput(status, 2);
    const peak = r.peakRssMb();
    return {
      primary: peak,
      metrics: {
        event_latency_ms: latencyMs,
        rss_waiting_mb: rssWaitingMb,
        start_s: startedMs / 1000,
        setup_s: setupMs / 1000,
        instances_per_s: size / (setupMs / 1000),
        instances: size,
      },
    };
  },
};
