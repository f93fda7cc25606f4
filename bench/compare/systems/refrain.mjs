/**
 * Refrain from this repository (its built `dist/`, so `npm run build` in the root first), through
 * its public API: a `TaskHub` with its default settings (100 activities and 100 orchestration
 * steps at once), like the root bench, on a fresh embedded SQLite file in a temporary directory (WAL,
 * `synchronous=FULL`, the store's default) or on a fresh PostgreSQL schema `cmp_<hex>` in the
 * database `test`, dropped with `DROP SCHEMA … CASCADE` afterwards. Workflows are started with
 * `hub.client.startNew` and awaited with `hub.client.waitForCompletion`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPostgres, freshSchema, pgUrl, REFRAIN_PG_DATABASE, tempDir } from "./common.mjs";

/** The parent repository's built entry point. */
const DIST = fileURLToPath(new URL("../../../dist/src/index.js", import.meta.url));

/** How long `waitForCompletion` waits for one instance. */
const WAIT_MS = 10 * 60_000;

let refrain;

/** Loads the parent repository's build (once). */
async function load() {
  refrain ??= await import(DIST);
  return refrain;
}

/** Undefined when the parent's build is there, else what to do. */
function checkBuild() {
  if (existsSync(DIST)) return undefined;
  return `${DIST} is missing: run \`npm run build\` in the repository root first`;
}

/** Registers the benchmark functions on a hub: each step returns its input + 1. */
function register(hub) {
  const inc = hub.activity("Inc", (x) => x + 1);
  const chain = hub.orchestrator("Chain", function* (ctx) {
    let x = ctx.input.x;
    for (let i = 0; i < ctx.input.steps; i++) x = yield* ctx.callActivity(inc, x);
    return x;
  });
  const fanOut = hub.orchestrator("FanOut", function* (ctx) {
    const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callActivity(inc, i));
    return (yield* ctx.Task.all(tasks)).length;
  });
  const child = hub.orchestrator("Child", function* (ctx) {
    return yield* ctx.callActivity(inc, ctx.input);
  });
  const fanOutChildren = hub.orchestrator("FanOutChildren", function* (ctx) {
    const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callSubOrchestrator(child, i));
    return (yield* ctx.Task.all(tasks)).length;
  });
  return { chain, fanOut, fanOutChildren };
}

/** A session on a hub over `store`; `dispose` removes the store's file or schema after `stop()`. */
async function openHub(store, dispose) {
  const { TaskHub } = await load();
  const hub = new TaskHub({ name: "compare", store });
  const fns = register(hub);
  try {
    await hub.start();
  } catch (err) {
    await dispose();
    throw err;
  }
  const run = async (orchestrator, input) => {
    const id = await hub.client.startNew(orchestrator, { input });
    const status = await hub.client.waitForCompletion(id, { timeoutMs: WAIT_MS });
    if (status.runtimeStatus !== "Completed") {
      throw new Error(`instance ${id} ended ${status.runtimeStatus}: ${JSON.stringify(status.output)}`);
    }
    return status.output;
  };
  return {
    chain: (x, steps) => run(fns.chain, { x, steps }),
    fanOut: (n) => run(fns.fanOut, n),
    fanOutChildren: (n) => run(fns.fanOutChildren, n),
    async close() {
      try {
        await hub.stop();
      } finally {
        await dispose();
      }
    },
  };
}

/** Refrain on a fresh SQLite file. */
export const refrainSqlite = {
  id: "refrain-sqlite",
  label: "Refrain SQLite",
  setup: "embedded SQLite, fresh file in a temp dir, WAL + synchronous=FULL; default hub settings",
  async check() {
    return checkBuild();
  },
  async open() {
    const { SqliteStore } = await load();
    const tmp = tempDir("refrain-compare-");
    return openHub(new SqliteStore({ path: join(tmp.dir, "compare.db") }), tmp.remove);
  },
};

/** Refrain on a fresh PostgreSQL schema. */
export const refrainPostgres = {
  id: "refrain-postgres",
  label: "Refrain PostgreSQL",
  setup: `PostgresStore, fresh schema cmp_<hex> in database ${REFRAIN_PG_DATABASE}; default hub settings`,
  async check() {
    return checkBuild() ?? (await checkPostgres(REFRAIN_PG_DATABASE));
  },
  async open() {
    const { PostgresStore } = await load();
    const { schema, drop } = freshSchema(REFRAIN_PG_DATABASE);
    return openHub(new PostgresStore({ connectionString: pgUrl(REFRAIN_PG_DATABASE), schema }), drop);
  },
};
