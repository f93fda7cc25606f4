/**
 * Command line of `npm run bench -- [W1 W3 …] [options]`: which workloads, on which stores, how
 * often, at which sizes. `--help` prints the usage.
 */
import { parseArgs } from "node:util";
import { STORE_KINDS, type StoreKind } from "./stores.js";

/** The usage text. */
export const USAGE = `usage: npm run bench -- [W1 … W8] [options]

  W1 … W8              workloads to run (default: all)
  --store LIST         stores, comma-separated: sqlite, postgres, memory (default sqlite)
  --json               one JSON object per workload per line on stdout (BENCH.md format)
  --repeats N          measured runs after one warm-up (default 3, or env BENCH_REPEATS)
  --workers LIST       PostgreSQL only: worker processes serving the store, e.g. 1,2 (default 1 =
                       the benchmark process alone; N starts N-1 extra worker processes)
  --concurrency N      maxConcurrentActivities and maxConcurrentOrchestrations (default 100,
                       the hub's default)
  --sizes LIST         W1 workflow counts, e.g. 100,1000,10000 (default 1000)
  --w5-steps N         W5 sequential steps (default 10000)
  --w6-timers N        W6 timers (default 10000)
  --w7-instances N     W7 waiting instances (default 100000)
  --w8-signals N       W8 signals per run (default 10000)
  --tracing            register an OpenTelemetry SDK (context manager, tracer provider, batch
                       span processor with an exporter that drops the spans) to measure the
                       overhead of tracing; results are labelled with "+otel"
  -h, --help           this text

env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_TMPDIR (SQLite files),
     BENCH_W6_MARGIN_MS (time from W6 setup start to the timers' due instant)`;

/** The parsed command line. */
export interface BenchArgs {
  workloads: string[] | undefined;
  stores: StoreKind[];
  json: boolean;
  repeats: number;
  workers: number[];
  concurrency: number;
  /** Size per workload ID; W1 may have several. */
  sizes: Map<string, number[]>;
  tracing: boolean;
  help: boolean;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${text}'`);
  return n;
}

function list(name: string, text: string): number[] {
  return text.split(",").map((part) => positive(name, part.trim()));
}

/** Parses `argv` (without node and the script); throws with a message on bad input. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: "string", default: "sqlite" },
      json: { type: "boolean", default: false },
      repeats: { type: "string" },
      workers: { type: "string", default: "1" },
      concurrency: { type: "string", default: "100" },
      sizes: { type: "string" },
      "w5-steps": { type: "string" },
      "w6-timers": { type: "string" },
      "w7-instances": { type: "string" },
      "w8-signals": { type: "string" },
      tracing: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const workloads = positionals.map((p) => {
    const id = p.toUpperCase();
    if (!/^W[1-8]$/.test(id)) throw new Error(`unknown workload '${p}' (W1 … W8)`);
    return id;
  });
  const stores = values.store.split(",").map((s) => {
    const kind = s.trim() as StoreKind;
    if (!STORE_KINDS.includes(kind)) throw new Error(`unknown store '${s}' (${STORE_KINDS.join(", ")})`);
    return kind;
  });
  const sizes = new Map<string, number[]>();
  if (values.sizes) sizes.set("W1", list("--sizes", values.sizes));
  if (values["w5-steps"]) sizes.set("W5", [positive("--w5-steps", values["w5-steps"])]);
  if (values["w6-timers"]) sizes.set("W6", [positive("--w6-timers", values["w6-timers"])]);
  if (values["w7-instances"]) sizes.set("W7", [positive("--w7-instances", values["w7-instances"])]);
  if (values["w8-signals"]) sizes.set("W8", [positive("--w8-signals", values["w8-signals"])]);
  const repeatsText = values.repeats ?? process.env.BENCH_REPEATS ?? "3";
  return {
    workloads: workloads.length > 0 ? [...new Set(workloads)] : undefined,
    stores: [...new Set(stores)],
    json: values.json,
    repeats: positive("--repeats", repeatsText),
    workers: [...new Set(list("--workers", values.workers))],
    concurrency: positive("--concurrency", values.concurrency),
    sizes,
    tracing: values.tracing,
    help: values.help,
  };
}
