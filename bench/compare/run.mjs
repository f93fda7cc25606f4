/**
 * Runs the workloads W1–W4 on DBOS, Restate and Refrain (SQLite and PostgreSQL), one system at a
 * time, each workload of each system in a fresh Node process of its own (so that no system's heap,
 * compiled code or leftover timers weigh on another's runs), and prints a table with ratios;
 * `--json` prints one JSON object per workload per system on stdout instead (BENCH.md's format)
 * and the table on stderr.
 *
 *   node run.mjs [--systems dbos,restate,refrain-sqlite,refrain-postgres]
 *                [--workloads W1,W2,W3,W4] [--repeats 3] [--json] [--size N]
 *
 * `--size N` runs every workload at size N instead of 1,000 (W2: 200), for a quick smoke test.
 * Progress goes to stderr. A system that cannot run here (not installed, no PostgreSQL, binary
 * fails) is reported as unavailable with the reason and the others go on; so does a workload
 * that fails on one system. Ctrl-C stops servers and drops databases and schemas before exiting.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runWorkload, WORKLOADS } from "./harness.mjs";
import { headerLines, renderReport } from "./output.mjs";
import { cleanupAll, packageVersion, postgresVersion } from "./systems/common.mjs";
import { dbos } from "./systems/dbos.mjs";
import { refrainPostgres, refrainSqlite } from "./systems/refrain.mjs";
import { restateSystem } from "./systems/restate.mjs";

/** Every system, in table order. */
const SYSTEMS = [dbos, restateSystem, refrainSqlite, refrainPostgres];

const USAGE =
  "usage: node run.mjs [--systems dbos,restate,refrain-sqlite,refrain-postgres] " +
  "[--workloads W1,W2,W3,W4] [--repeats N] [--json] [--size N]";

/** Parses the command line; exits with the usage on a mistake. */
function parseArgs(argv) {
  const options = {
    systems: SYSTEMS,
    workloads: Object.values(WORKLOADS),
    repeats: 3,
    json: false,
    size: undefined,
    /** Set in a child process: run this one workload of this one system, print its JSON line. */
    child: false,
  };
  const fail = (message) => {
    console.error(`${message}\n${USAGE}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.split("=", 2);
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--json") options.json = true;
    else if (flag === "--child") options.child = true;
    else if (flag === "--repeats") {
      options.repeats = Number(value());
      if (!Number.isInteger(options.repeats) || options.repeats < 1)
        fail("--repeats must be a positive integer");
    } else if (flag === "--size") {
      options.size = Number(value());
      if (!Number.isInteger(options.size) || options.size < 1) fail("--size must be a positive integer");
    } else if (flag === "--systems") {
      options.systems = value()
        .split(",")
        .map((id) => {
          const wanted = id.trim() === "dbos" ? "dbos-postgres" : id.trim();
          return SYSTEMS.find((s) => s.id === wanted) ?? fail(`unknown system '${id}'`);
        });
    } else if (flag === "--workloads") {
      options.workloads = value()
        .split(",")
        .map((id) => WORKLOADS[id.trim().toUpperCase()] ?? fail(`unknown workload '${id}'`));
    } else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument '${arg}'`);
  }
  return options;
}

/** Versions of what is compared, for the header. */
async function versions() {
  const result = {
    "@dbos-inc/dbos-sdk": packageVersion("@dbos-inc/dbos-sdk") ?? "not installed",
    "restate-server": packageVersion("@restatedev/restate-server") ?? "not installed",
    "@restatedev/restate-sdk": packageVersion("@restatedev/restate-sdk") ?? "not installed",
  };
  result.postgresql = await postgresVersion().catch(() => "unreachable");
  return result;
}

function errorText(err) {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/** Logs a progress line on stderr. */
function log(line) {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/**
 * Runs one workload of one system in a fresh Node process (this script with `--child`) and
 * returns its result; its progress lines pass through to stderr.
 */
function inChild(system, workload, options) {
  const args = [
    fileURLToPath(import.meta.url),
    "--child",
    "--systems",
    system.id,
    "--workloads",
    workload.id,
  ];
  args.push("--repeats", String(options.repeats));
  if (options.size !== undefined) args.push("--size", String(options.size));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop();
      if (code === 0 && line) resolve(JSON.parse(line));
      else reject(new Error(`the run exited with code ${code}`));
    });
  });
}

/** Child mode: the one workload of the one system, its result as a JSON line on stdout. */
async function runChild(options) {
  const [system] = options.systems;
  const [workload] = options.workloads;
  const result = await runWorkload(system, workload, options.repeats, log, options.size);
  console.log(JSON.stringify(result));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.child) return runChild(options);
  const header = headerLines(await versions(), options.repeats);
  for (const line of header) log(line);
  const failures = new Map();
  const available = [];
  for (const system of options.systems) {
    const reason = await system.check();
    if (reason) {
      failures.set(system.id, `unavailable: ${reason}`);
      log(`${system.id} is unavailable: ${reason}`);
    } else available.push(system);
  }
  const results = [];
  for (const workload of options.workloads) {
    for (const system of available) {
      log(`${workload.id} ${system.id}: ${workload.title}`);
      try {
        const result = await inChild(system, workload, options);
        results.push(result);
        if (options.json) console.log(JSON.stringify(result));
        log(
          `${workload.id} ${system.id}: median ${result.median} ${result.unit} (${result.min}–${result.max})`,
        );
      } catch (err) {
        failures.set(`${workload.id} ${system.id}`, `failed: ${errorText(err)}`);
        log(`${workload.id} ${system.id} failed: ${err instanceof Error ? err.stack : err}`);
        await cleanupAll();
      }
    }
  }
  const report = renderReport({
    systems: options.systems,
    workloads: options.workloads,
    results,
    failures,
    header,
  });
  if (options.json) console.error(`\n${report}`);
  else console.log(report);
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error(`\n${signal}: stopping servers, dropping databases and schemas…`);
    cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .catch((err) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
    // Client libraries (pg pools, HTTP agents) may keep the event loop alive after the work.
    setTimeout(() => process.exit(), 500).unref();
  });
