/**
 * A benchmark worker process: `node dist/bench/worker.js '<store spec JSON>' <concurrency>`.
 * It registers the benchmark functions on the given store and serves work until told to stop,
 * talking to its parent (bench/pool.ts) over the IPC channel:
 *
 * - to the parent: `{ type: "ready" }` once serving; `{ type: "stopped", cpuS, peakRssMb }` after
 *   `stop`, with its own `process.cpuUsage()` (user + system) since the last `mark` and its peak RSS
 *   sampled every 50 ms over the same window;
 * - from the parent: `{ type: "mark" }` when the measured window starts; `{ type: "stop" }`.
 *
 * When the parent goes away (IPC disconnect) it stops its hub and exits.
 */
import { TaskHub } from "refrain";
import { hubOptions, registerBenchFunctions } from "./functions.js";
import { cpuSecondsSince, RssSampler } from "./measure.js";
import { openStore, type StoreSpec } from "./stores.js";

/** A message from the parent benchmark process. */
export type ParentMessage = { type: "mark" } | { type: "stop" };

/** A message to the parent benchmark process. */
export type WorkerMessage = { type: "ready" } | { type: "stopped"; cpuS: number; peakRssMb: number };

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) throw new Error("bench/worker.js must be started by the benchmark (it needs an IPC channel)");
  const spec = JSON.parse(process.argv[2] ?? "") as StoreSpec;
  const concurrency = Number(process.argv[3] ?? "64");
  const hub = new TaskHub({ ...hubOptions(concurrency), store: openStore(spec) });
  registerBenchFunctions(hub);
  await hub.start();

  let since = process.cpuUsage();
  let sampler = new RssSampler();
  let stopping: Promise<void> | undefined;
  const stop = (report: boolean): Promise<void> => {
    stopping ??= (async () => {
      const cpuS = cpuSecondsSince(since);
      const peakRssMb = sampler.stop();
      await hub.stop();
      if (report && process.connected) {
        const message: WorkerMessage = { type: "stopped", cpuS, peakRssMb };
        await new Promise<void>((resolve) => send(message, undefined, {}, () => resolve()));
      }
      if (process.connected) process.disconnect();
    })();
    return stopping;
  };

  process.on("message", (message: ParentMessage) => {
    if (message.type === "mark") {
      since = process.cpuUsage();
      sampler.stop();
      sampler = new RssSampler();
    } else if (message.type === "stop") {
      void stop(true);
    }
  });
  process.on("disconnect", () => void stop(false));
  const ready: WorkerMessage = { type: "ready" };
  send(ready);
}

main().catch((err: unknown) => {
  console.error("bench worker failed:", err);
  process.exit(1);
});
