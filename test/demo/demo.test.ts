/**
 * The demo app as a user runs it: a real child process on a real SQLite file, run twice to show
 * that fixed instance IDs make a second run report (not repeat) what the first one did.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseDemoOptions } from "../../src/demo/options.js";
import { type OrchestrationStatus, SqliteStore, TaskHub } from "../../src/index.js";

const MAIN = fileURLToPath(new URL("../../src/demo/main.js", import.meta.url));
const DEMO_IDS = [
  "demo-chaining",
  "demo-fan-out",
  "demo-monitor",
  "demo-approval-approved",
  "demo-approval-timeout",
  "demo-sub-orchestrations",
  "demo-saga",
  "demo-retry",
  "demo-parameters",
];
const RUN_TIMEOUT_MS = 60_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the demo; `onStdout` sees the output so far after every chunk. */
function startDemo(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onStdout?: (text: string, child: ChildProcess) => void,
) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, REFRAIN_DB: "", REFRAIN_DEMO_EXIT: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, child);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`demo did not exit within ${RUN_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every instance in the database, read through a client-only hub. */
async function allInstances(dbPath: string): Promise<OrchestrationStatus[]> {
  const hub = new TaskHub({ store: new SqliteStore({ path: dbPath }) });
  try {
    return await hub.client.getStatusAll();
  } finally {
    await hub.stop();
  }
}

/** The result line the demo prints for `instanceId`. */
function resultLineOf(stdout: string, instanceId: string): string | undefined {
  return stdout
    .split("\n")
    .find((line) => line.startsWith(`✔ ${instanceId} `) || line.startsWith(`✘ ${instanceId} `));
}

describe("demo app", { timeout: 3 * RUN_TIMEOUT_MS }, () => {
  let dir: string;
  let dbPath: string;
  let first: RunResult;
  let instancesAfterFirstRun: OrchestrationStatus[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "refrain-demo-"));
    dbPath = join(dir, "demo.db");
    first = await startDemo(["--exit-when-done", "--db", dbPath]);
    instancesAfterFirstRun = await allInstances(dbPath);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the first run starts every demo instance and exits 0 once all completed", () => {
    assert.equal(first.code, 0, first.stderr);
    for (const id of DEMO_IDS) {
      assert.match(first.stdout, new RegExp(`^started +${id} `, "m"), `${id} was started`);
      assert.match(resultLineOf(first.stdout, id) ?? "", / Completed /, `${id} completed`);
    }
    assert.match(first.stdout, /All 9 demo instances have finished/);
  });

  test("the first run shows each pattern's result", () => {
    const expectations: Record<string, string> = {
      "demo-chaining": '["Hello Tokyo!","Hello Seattle!","Hello London!"]',
      "demo-fan-out": "total 385 over 10 parallel work items",
      "demo-monitor": '"outcome":"Succeeded","checks":4',
      "demo-approval-approved": '"outcome":"Approved"',
      "demo-approval-timeout": '"outcome":"Escalated"',
      "demo-sub-orchestrations":
        "provisioned sensor-1 (config v3), sensor-2 (config v3), sensor-3 (config v3)",
      "demo-saga": "SoldOutError: no car available in Reykjavik (code SOLD_OUT); cancelled hotel, flight",
      "demo-retry": '{"attempts":3,"reply":"OK"}',
      "demo-parameters": "Ada ordered notebooks for 37.50 EUR",
    };
    for (const [id, text] of Object.entries(expectations)) {
      assert.ok(resultLineOf(first.stdout, id)?.includes(text), `${id} shows ${text}`);
    }
  });

  test("the first run prints the banner and the CLI command a human would use to approve", () => {
    assert.ok(first.stdout.includes(`database  ${dbPath}`));
    assert.ok(first.stdout.includes(`npx refrain list --db ${dbPath}`));
    assert.ok(first.stdout.includes(`npx refrain raise demo-approval-approved Approval true --db ${dbPath}`));
    assert.ok(first.stdout.split("\n").length <= 40, "the output stays compact");
  });

  test("the database holds the demo instances and the sub-orchestrations' children", () => {
    const ids = instancesAfterFirstRun.map((s) => s.instanceId).sort();
    assert.deepEqual(
      ids,
      [
        ...DEMO_IDS,
        "demo-sub-orchestrations:device:sensor-1",
        "demo-sub-orchestrations:device:sensor-2",
        "demo-sub-orchestrations:device:sensor-3",
      ].sort(),
    );
    assert.ok(instancesAfterFirstRun.every((s) => s.runtimeStatus === "Completed"));
  });

  test("a second run (configured by environment) reports the finished instances and starts nothing", async () => {
    const second = await startDemo([], { REFRAIN_DB: dbPath, REFRAIN_DEMO_EXIT: "1" });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /^(started|resumed) /m);
    for (const id of DEMO_IDS) {
      assert.match(resultLineOf(second.stdout, id) ?? "", /Completed .*\(finished in an earlier run\)$/, id);
    }
    const instances = await allInstances(dbPath);
    assert.equal(instances.length, instancesAfterFirstRun.length);
    const created = (list: OrchestrationStatus[]) =>
      Object.fromEntries(list.map((s) => [s.instanceId, s.createdTime.getTime()]));
    assert.deepEqual(created(instances), created(instancesAfterFirstRun), "no instance was replaced");
  });

  test("without --exit-when-done it keeps serving until SIGTERM, then exits 0", async () => {
    let signalled = false;
    const run = await startDemo(["--db", dbPath], {}, (stdout, child) => {
      if (!signalled && stdout.includes("Still serving")) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    assert.ok(signalled, run.stdout);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /SIGTERM: stopping/);
  });
});

describe("demo options", () => {
  test("defaults to .refrain/refrain.db and serving until stopped", () => {
    assert.deepEqual(parseDemoOptions([], {}), {
      dbPath: ".refrain/refrain.db",
      exitWhenDone: false,
      help: false,
    });
  });

  test("flags override the environment", () => {
    const env = { REFRAIN_DB: "/env.db", REFRAIN_DEMO_EXIT: "1" };
    assert.deepEqual(parseDemoOptions([], env), { dbPath: "/env.db", exitWhenDone: true, help: false });
    assert.equal(parseDemoOptions(["--db", "/flag.db"], env).dbPath, "/flag.db");
    assert.equal(parseDemoOptions(["--db=/eq.db"], {}).dbPath, "/eq.db");
  });

  test("rejects unknown arguments and a --db without a path", () => {
    assert.throws(() => parseDemoOptions(["--fast"], {}), /unknown argument '--fast'/);
    assert.throws(() => parseDemoOptions(["--db"], {}), /--db needs a file path/);
  });
});
