/**
 * DBOS Transact (`@dbos-inc/dbos-sdk` 5.3.0) on the local PostgreSQL. Every session gets a fresh
 * system database `dbos_compare_<hex>`, created here before `DBOS.launch()` (which migrates it)
 * and dropped after `DBOS.shutdown()`. Workflows and steps are registered once per process with
 * `DBOS.registerWorkflow` / `DBOS.registerStep`; DBOS is a process-wide singleton, so one session
 * at a time. Settings are DBOS's defaults (system database pool of 10 connections, PostgreSQL's
 * own `synchronous_commit`), except a fixed `applicationVersion` and log level `warn`.
 *
 * W1/W2 start workflows with `DBOS.startWorkflow(chain)(x, steps)` and await
 * `handle.getResult()` (in-process: the handle awaits the workflow's promise, no polling). W3 is
 * one workflow awaiting `Promise.all` of 1,000 step calls. W4 is one workflow that starts 1,000
 * child workflows with `DBOS.startWorkflow` (one after the other, as the docs show) and then
 * awaits all their results.
 */
import { checkPostgres, freshDatabase, packageVersion } from "./common.mjs";

/** The system database's name prefix; each session appends random hex. */
const DATABASE_PREFIX = "dbos_compare_";

let DBOS;
let fns;

/** Imports DBOS and registers the benchmark functions (once per process, before any launch). */
async function load() {
  if (fns) return fns;
  ({ DBOS } = await import("@dbos-inc/dbos-sdk"));
  const inc = DBOS.registerStep(async (x) => x + 1, { name: "inc" });
  const chain = DBOS.registerWorkflow(
    async (x, steps) => {
      let value = x;
      for (let i = 0; i < steps; i++) value = await inc(value);
      return value;
    },
    { name: "chain" },
  );
  const fanOut = DBOS.registerWorkflow(
    async (n) => (await Promise.all(Array.from({ length: n }, (_, i) => inc(i)))).length,
    { name: "fanOut" },
  );
  const child = DBOS.registerWorkflow(async (x) => inc(x), { name: "child" });
  const fanOutChildren = DBOS.registerWorkflow(
    async (n) => {
      const handles = [];
      for (let i = 0; i < n; i++) handles.push(await DBOS.startWorkflow(child)(i));
      return (await Promise.all(handles.map((handle) => handle.getResult()))).length;
    },
    { name: "fanOutChildren" },
  );
  fns = { chain, fanOut, fanOutChildren };
  return fns;
}

/** Starts workflow `fn` with `args` and awaits its result. */
async function run(fn, ...args) {
  const handle = await DBOS.startWorkflow(fn)(...args);
  return handle.getResult();
}

/** DBOS on a fresh PostgreSQL system database per session. */
export const dbos = {
  id: "dbos-postgres",
  label: "DBOS",
  setup:
    "DBOS Transact 5.3.0, fresh system database dbos_compare_<hex> on local PostgreSQL; " +
    "default pool (10); steps via registerStep, children via startWorkflow",
  async check() {
    if (!packageVersion("@dbos-inc/dbos-sdk")) {
      return "@dbos-inc/dbos-sdk is not installed: run `npm install` in bench/compare";
    }
    return checkPostgres("postgres");
  },
  async open() {
    const { chain, fanOut, fanOutChildren } = await load();
    const db = await freshDatabase(DATABASE_PREFIX);
    try {
      DBOS.setConfig({
        name: "refrain-compare",
        systemDatabaseUrl: db.url,
        applicationVersion: "compare-1",
        logLevel: "warn",
      });
      await DBOS.launch();
    } catch (err) {
      await DBOS.shutdown().catch(() => {});
      await db.drop();
      throw err;
    }
    return {
      chain: (x, steps) => run(chain, x, steps),
      fanOut: (n) => run(fanOut, n),
      fanOutChildren: (n) => run(fanOutChildren, n),
      async close() {
        try {
          await DBOS.shutdown();
        } finally {
          await db.drop();
        }
      },
    };
  },
};
