/**
 * The benchmark runner: `npm run bench -- [W1 …] [--store sqlite,postgres,memory] [--json] …`
 * (see bench/args.ts for every option and BENCH.md for the workloads). For each store (and, on
 * PostgreSQL, each number of worker processes) it runs each selected workload: one warm-up, then
 * the measured repeats, each on a fresh store. Results go to stdout, progress and logs to stderr.
 * Ctrl-C kills the worker children and deletes the temporary SQLite files and PostgreSQL schemas.
 */
import { parseBenchArgs, USAGE } from "./args.js";
import { runWorkload } from "./harness.js";
import { headerLine, jsonLine, Progress, textLine, unavailableLine } from "./output.js";
import { killAllWorkers } from "./pool.js";
import { checkPostgres, disposeAll, storeVersions } from "./stores.js";
import { installTracing } from "./tracing.js";
import type { Workload } from "./workload.js";
import { w8 } from "./workloads/entities.js";
import { w5, w6, w7 } from "./workloads/long.js";
import { w1, w2, w3, w4 } from "./workloads/short.js";

/** The workloads, in order. */
const WORKLOADS: readonly Workload[] = [w1, w2, w3, w4, w5, w6, w7, w8];

const ALL_IDS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"];

function onSignal(ui: Progress): void {
  let exiting = false;
  const handler = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    ui.clear();
    ui.log(`${signal}: stopping workers and removing temporary stores`);
    killAllWorkers();
    void disposeAll().finally(() => process.exit(130));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const ui = new Progress();
  onSignal(ui);
  const exportedSpans = args.tracing ? installTracing() : undefined;
  if (args.stores.includes("postgres")) await checkPostgres();
  ui.log(headerLine(await storeVersions(args.stores), args.concurrency, args.repeats));
  if (args.workers.some((w) => w > 1) && args.stores.some((s) => s !== "postgres")) {
    ui.log("--workers applies to PostgreSQL only; other stores run in the benchmark process alone");
  }
  let failures = 0;
  for (const store of args.stores) {
    for (const workers of store === "postgres" ? args.workers : [1]) {
      for (const id of args.workloads ?? ALL_IDS) {
        const workload = WORKLOADS.find((w) => w.id === id);
        if (!workload) {
          const line = unavailableLine(id, "unknown workload", args.json);
          if (args.json) ui.log(line);
          else console.log(line);
          continue;
        }
        for (const size of args.sizes.get(id) ?? [workload.defaultSize]) {
          try {
            const settings = { store, workers, concurrency: args.concurrency, repeats: args.repeats };
            const result = await runWorkload(workload, size, settings, ui);
            if (exportedSpans) result.metrics.otel = { median: 1, min: 1, max: 1 };
            console.log(args.json ? jsonLine(result) : textLine(result));
          } catch (err) {
            failures++;
            ui.clear();
            ui.log(
              `${id} on ${store} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
            );
          }
        }
      }
    }
  }
  if (exportedSpans) ui.log(`tracing: ${exportedSpans()} spans exported (and dropped)`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    killAllWorkers();
    await disposeAll();
    process.exitCode = 1;
  },
);
