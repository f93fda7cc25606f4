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

/*
 * The benchmark functions, defined once per process (as an application defines them, and as the
 * DBOS harness registers its functions once) and registered on each session's fresh hub. Each
 * step returns its input + 1. The bodies name each other by typed reference ({ kind, name }):
 * whichever hub registers the name serves the call.
 */
const INC = { kind: "activity", name: "Inc" };
const CHILD = { kind: "orchestrator", name: "Child" };
const incBody = (x) => x + 1;
function* chainBody(ctx) {
  let x = ctx.input.x;
  for (let i = 0; i < ctx.input.steps; i++) x = yield* ctx.callActivity(INC, x);
  return x;
}
function* fanOutBody(ctx) {
  const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callActivity(INC, i));
  return (yield* ctx.Task.all(tasks)).length;
}
function* childBody(ctx) {
  return yield* ctx.callActivity(INC, ctx.input);
}
function* fanOutChildrenBody(ctx) {
  const tasks = Array.from({ length: ctx.input }, (_, i) => ctx.callSubOrchestrator(CHILD, i));
  return (yield* ctx.Task.all(tasks)).length;
}

/** Registers the benchmark functions on a hub. */
function register(hub) {
  hub.activity(INC.name, incBody);
  hub.orchestrator(CHILD.name, childBody);
  return {
    chain: hub.orchestrator("Chain", chainBody),
    fanOut: hub.orchestrator("FanOut", fanOutBody),
    fanOutChildren: hub.orchestrator("FanOutChildren", fanOutChildrenBody),
  };
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
