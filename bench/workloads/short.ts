/**
 * The four workloads with peer figures, all short workflows: W1 (many concurrent 5-step
 * workflows), W2 (latency of one 5-step workflow, start → result, run after run), W3 (one
 * workflow fanning out to many activities) and W4 (one workflow fanning out to many child
 * workflows). W1, W3 and W4 measure wall time from the first `startNew` to the last result.
 */
import type { OrchestratorRef } from "refrain";
import type { BenchFunctions } from "../functions.js";
import { mean, percentile } from "../measure.js";
import { countReplaySteps, expectOutput, WAIT_MS, type Workload, type WorkloadRun } from "../workload.js";

/** Steps of each W1 workflow. */
const W1_STEPS = 5;

/** W1: `size` workflows started concurrently, each 5 sequential steps; first start → all results. */
export const w1: Workload = {
  id: "W1",
  title: "1,000 concurrent workflows × 5 sequential steps",
  unit: "s",
  defaultSize: 1000,
  warmupSize: (size) => size,
  async run(r: WorkloadRun) {
    const { hub, fns, size } = r;
    let done = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: size }, async (_, i) => {
        const id = await hub.client.startNew(fns.chain, { input: { x: i, steps: W1_STEPS } });
        const status = await hub.client.waitForCompletion(id, { timeoutMs: WAIT_MS });
        expectOutput(status, i + W1_STEPS);
        r.progress(`${++done}/${size} workflows completed`);
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { primary: seconds, metrics: { wf_per_s: size / seconds, workflows: size } };
  },
};

/**
 * A workload of one parent workflow whose input is `size` and whose output is `size`: start →
 * result. `replay_steps` (read from history after the measurement) is how many replay steps the
 * parent took to collect its `size` results, each replaying its whole history.
 */
function fanOut(
  id: string,
  title: string,
  parent: (fns: BenchFunctions) => OrchestratorRef<number, number>,
  rate: string,
): Workload {
  return {
    id,
    title,
    unit: "s",
    defaultSize: 1000,
    warmupSize: (size) => size,
    async run(r: WorkloadRun) {
      const { hub, fns, size } = r;
      const start = performance.now();
      const instanceId = await hub.client.startNew(parent(fns), { input: size });
      const status = await hub.client.waitForCompletion(instanceId, { timeoutMs: WAIT_MS });
      const seconds = (performance.now() - start) / 1000;
      expectOutput(status, size);
      const replaySteps = await countReplaySteps(hub, instanceId);
      return { primary: seconds, metrics: { [rate]: size / seconds, replay_steps: replaySteps, size } };
    },
  };
}

/** W3: one workflow starts `size` activities in parallel (Task.all); start → result. */
export const w3 = fanOut(
  "W3",
  "one workflow fans out 1,000 steps (Task.all)",
  (f) => f.fanOut,
  "steps_per_s",
);

/** W4: one workflow starts `size` child workflows (1 step each) in parallel; start → result. */
export const w4 = fanOut(
  "W4",
  "one workflow starts 1,000 child workflows (1 step each)",
  (f) => f.fanOutChildren,
  "children_per_s",
);

/** Steps of each W2 workflow. */
const W2_STEPS = 5;

/** W2: `size` sequential runs of one 5-step workflow; latency of each, start → result. */
export const w2: Workload = {
  id: "W2",
  title: "200 sequential runs of one 5-step workflow (start → result)",
  unit: "ms",
  defaultSize: 200,
  warmupSize: (size) => size,
  async run(r: WorkloadRun) {
    const { hub, fns, size } = r;
    const latencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < size; i++) {
      const t0 = performance.now();
      const id = await hub.client.startNew(fns.chain, { input: { x: i, steps: W2_STEPS } });
      const status = await hub.client.waitForCompletion(id, { timeoutMs: WAIT_MS });
      latencies.push(performance.now() - t0);
      expectOutput(status, i + W2_STEPS);
      r.progress(`${i + 1}/${size} runs`);
    }
    const seconds = (performance.now() - start) / 1000;
    const p50 = percentile(latencies, 50);
    return {
      primary: p50,
      metrics: {
        p50_ms: p50,
        p95_ms: percentile(latencies, 95),
        p99_ms: percentile(latencies, 99),
        mean_ms: mean(latencies),
        max_ms: Math.max(...latencies),
        runs_per_s: size / seconds,
        runs: size,
      },
    };
  },
};
