/**
 * The demo app as a user runs it: a real child process on a real SQLite file, run twice to show
 * that fixed instance IDs make a second run report (not repeat) what the first one did; and once
 * on a fresh schema of the PostgreSQL test database.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseDemoOptions } from "../../src/demo/options.js";
import {
  type OrchestrationStatus,
  PostgresStore,
  SqliteStore,
  type Store,
  TaskHub,
} from "../../src/index.js";
import {
  describePostgres,
  dropSchema,
  randomSchema,
  TEST_DATABASE_URL,
} from "../store-conformance/postgres-env.js";

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
  "demo-counter",
  "demo-transfer",
  "demo-aggregator",
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
    // The test's own environment never chooses the demo's database (DATABASE_URL would).
    env: {
      ...process.env,
      REFRAIN_DB: "",
      REFRAIN_DEMO_EXIT: "",
      REFRAIN_DATABASE_URL: "",
      DATABASE_URL: "",
      ...env,
    },
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

/** Every instance in the store, read through a client-only hub. */
async function allInstances(store: Store): Promise<OrchestrationStatus[]> {
  const hub = new TaskHub({ store });
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

/** Asserts that `instances` are the demo's instances and its children, all Completed. */
function assertAllDemoInstances(instances: readonly OrchestrationStatus[]): void {
  assert.deepEqual(
    instances.map((s) => s.instanceId).sort(),
    [
      ...DEMO_IDS,
      "demo-sub-orchestrations:device:sensor-1",
      "demo-sub-orchestrations:device:sensor-2",
      "demo-sub-orchestrations:device:sensor-3",
    ].sort(),
  );
  assert.ok(instances.every((s) => s.runtimeStatus === "Completed"));
}

describe("demo app", { timeout: 3 * RUN_TIMEOUT_MS }, () => {
  let dir: string;
  let dbPath: string;
  let first: RunResult;
  let instancesAfterFirstRun: OrchestrationStatus[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "refrain-demo-"));
    dbPath = join(dir, "demo.db");
    first = await startDemo(["--exit-when-done", "--db", dbPath, "--no-http"]);
    instancesAfterFirstRun = await allInstances(new SqliteStore({ path: dbPath }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the first run starts every demo instance and exits 0 once all completed", () => {
    assert.equal(first.code, 0, first.stderr);
    for (const id of DEMO_IDS) {
      assert.match(first.stdout, new RegExp(`^started +${id} `, "m"), `${id} was started`);
      assert.match(resultLineOf(first.stdout, id) ?? "", / Completed /, `${id} completed`);
    }
    assert.match(first.stdout, /All 12 demo instances have finished/);
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
    assertAllDemoInstances(instancesAfterFirstRun);
  });

  test("a second run (configured by environment) reports the finished instances and starts nothing", async () => {
    const second = await startDemo([], { REFRAIN_DB: dbPath, REFRAIN_DEMO_EXIT: "1" });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /^(started|resumed) /m);
    for (const id of DEMO_IDS) {
      assert.match(resultLineOf(second.stdout, id) ?? "", /Completed .*\(finished in an earlier run\)$/, id);
    }
    const instances = await allInstances(new SqliteStore({ path: dbPath }));
    assert.equal(instances.length, instancesAfterFirstRun.length);
    const created = (list: OrchestrationStatus[]) =>
      Object.fromEntries(list.map((s) => [s.instanceId, s.createdTime.getTime()]));
    assert.deepEqual(created(instances), created(instancesAfterFirstRun), "no instance was replaced");
  });

  test("without --exit-when-done it serves the dashboard until SIGTERM, then exits 0", async () => {
    let signalled = false;
    let dashboard: Promise<number> | undefined;
    const run = await startDemo(["--db", dbPath, "--port", "0"], {}, (stdout, child) => {
      if (!signalled && stdout.includes("Still serving")) {
        signalled = true;
        const url = /http +(http:\/\/\S+\/dashboard\/)/.exec(stdout)?.[1] ?? "";
        dashboard = fetch(url)
          .then((res) => res.status)
          .finally(() => child.kill("SIGTERM"));
      }
    });
    assert.ok(signalled, run.stdout);
    assert.equal(await dashboard, 200, "the dashboard answers while the demo serves");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /SIGTERM: stopping/);
  });
});

describe("demo options", () => {
  test("defaults to .refrain/refrain.db and serving until stopped", () => {
    assert.deepEqual(parseDemoOptions([], {}), {
      store: { kind: "sqlite", path: ".refrain/refrain.db" },
      exitWhenDone: false,
      help: false,
      httpPort: 7071,
    });
  });

  test("flags override the environment", () => {
    const env = { REFRAIN_DB: "/env.db", REFRAIN_DEMO_EXIT: "1" };
    assert.deepEqual(parseDemoOptions([], env), {
      store: { kind: "sqlite", path: "/env.db" },
      exitWhenDone: true,
      help: false,
      httpPort: 7071,
    });
    assert.deepEqual(parseDemoOptions(["--db", "/flag.db"], env).store, { kind: "sqlite", path: "/flag.db" });
    assert.deepEqual(parseDemoOptions(["--db=/eq.db"], {}).store, { kind: "sqlite", path: "/eq.db" });
  });

  test("--database-url, REFRAIN_DATABASE_URL or DATABASE_URL run it on PostgreSQL", () => {
    const url = "postgres://demo@localhost:5432/demo";
    assert.deepEqual(parseDemoOptions(["--database-url", url, "--schema=demo_1"], {}).store, {
      kind: "postgres",
      url,
      schema: "demo_1",
      source: "--database-url",
    });
    for (const name of ["REFRAIN_DATABASE_URL", "DATABASE_URL"]) {
      const store = parseDemoOptions([], { [name]: url }).store;
      assert.deepEqual(store, { kind: "postgres", url, schema: "refrain", source: name });
    }
    assert.equal(parseDemoOptions(["--db", "/flag.db"], { DATABASE_URL: url }).store.kind, "sqlite");
  });

  test("rejects unknown arguments, missing values and contradictions", () => {
    assert.throws(() => parseDemoOptions(["--fast"], {}), /unknown argument '--fast'/);
    assert.throws(() => parseDemoOptions(["--db"], {}), /--db needs a file path/);
    assert.throws(() => parseDemoOptions(["--database-url"], {}), /--database-url needs a URL/);
    assert.throws(
      () => parseDemoOptions(["--db", "a.db", "--database-url", "postgres://h/d"], {}),
      /cannot be used together/,
    );
    assert.throws(() => parseDemoOptions(["--schema", "s"], {}), /--schema applies to PostgreSQL only/);
  });
});

await describePostgres("demo app on PostgreSQL", () => {
  const schema = randomSchema();
  const store = () => new PostgresStore({ connectionString: TEST_DATABASE_URL, schema });
  let run: RunResult;

  before(async () => {
    run = await startDemo(["--exit-when-done", "--database-url", TEST_DATABASE_URL, "--schema", schema]);
  });
  after(() => dropSchema(schema));

  test("a run on a fresh schema completes every demo instance and exits 0", async () => {
    assert.equal(run.code, 0, run.stderr);
    for (const id of DEMO_IDS) {
      assert.match(resultLineOf(run.stdout, id) ?? "", / Completed /, `${id} completed`);
    }
    assertAllDemoInstances(await allInstances(store()));
  });

  test("the banner names PostgreSQL and the CLI flags that reach the same schema", () => {
    const args = `--database-url ${TEST_DATABASE_URL} --schema ${schema}`;
    assert.match(run.stdout, /^Refrain demo: .*, on PostgreSQL\.$/m);
    assert.ok(run.stdout.includes(`database  ${TEST_DATABASE_URL}, schema ${schema}`), run.stdout);
    assert.ok(run.stdout.includes(`npx refrain list ${args}`));
    assert.ok(run.stdout.includes(`npx refrain raise demo-approval-approved Approval true ${args}`));
  });
});
