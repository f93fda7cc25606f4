/**
 * The worker process of the crash tests: `node dist/test/e2e/crash-worker.js <storeSpec> <countsFile>`,
 * where the spec is `sqlite:<path>` or `postgres:<url>#<schema>` (store-spec.ts). Serves the mixed
 * workload (workload.ts) and the bank of the entity crash test (bank-workload.ts) with a short
 * lease, so a killed worker's work is taken over quickly.
 * Prints "ready" once its dispatchers run; stops gracefully on SIGTERM. Fault points are armed
 * through the environment (REFRAIN_FAULT_POINTS, REFRAIN_FAULT_PROBABILITY, REFRAIN_FAULT_ACTION),
 * read by the engine itself.
 */
import { TaskHub } from "../../src/index.js";
import { registerBank } from "./bank-workload.js";
import { parseStoreSpec, storeFromSpec } from "./store-spec.js";
import { registerWorkload } from "./workload.js";

/** Lease length: how long a killed worker's leases block the next worker. */
const LEASE_MS = 1000;

async function main(): Promise<void> {
  const [storeSpec, countsFile] = process.argv.slice(2);
  if (!storeSpec || !countsFile) {
    console.error("usage: crash-worker.js <sqlite:PATH | postgres:URL#SCHEMA> <countsFile>");
    process.exit(2);
  }
  const hub = new TaskHub({
    store: storeFromSpec(parseStoreSpec(storeSpec)),
    leaseMs: LEASE_MS,
    maxIdleMs: 100,
    workerId: `crash-worker:${process.pid}`,
  });
  registerWorkload(hub, countsFile);
  registerBank(hub);
  process.once("SIGTERM", () => {
    hub.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error("stop failed", err);
        process.exit(1);
      },
    );
  });
  await hub.start();
  process.stdout.write("ready\n");
}

main().catch((err: unknown) => {
  console.error("worker failed", err);
  process.exit(1);
});
