/**
 * Test fixture of the CLI tests: a real app (TaskHub with workers) on a SQLite file in a temp
 * directory (or on a fresh schema of the PostgreSQL test database), and `cli(...)`, which runs
 * `refrain` in-process against the same store through its own connection, as a separate process
 * would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/run.js";
import type { OrchestrationStatus } from "../../src/index.js";
import { PostgresStore, SqliteStore, type Store, TaskHub } from "../../src/index.js";
import { dropSchema, randomSchema, TEST_DATABASE_URL } from "../store-conformance/postgres-env.js";

/** What one CLI run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running app plus helpers to drive the CLI against its database. */
export interface CliFixture {
  dir: string;
  /** The SQLite file (for a PostgreSQL fixture, a path where no file exists). */
  dbPath: string;
  /** The flags that select the app's store: `--db PATH` or `--database-url URL --schema S`. */
  storeArgs: string[];
  app: TaskHub;
  /** Runs `refrain <args> <storeArgs>` in-process. */
  cli: (...args: string[]) => Promise<CliRun>;
  /** Runs `refrain <args>` in-process with exactly these arguments and environment. */
  cliRaw: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliRun>;
  /** Polls the app's client until the instance has one of these statuses. */
  waitForStatus: (instanceId: string, statuses: string[]) => Promise<OrchestrationStatus>;
  /** IDs of every instance in the default hub. */
  instanceIds: () => Promise<string[]>;
  close: () => Promise<void>;
}

/** Parses the stdout of a `--json` run. */
export function parseJson<T = Record<string, unknown>>(run: CliRun): T {
  return JSON.parse(run.stdout) as T;
}

const SAFETY_NET_MS = 15_000;

function registerFunctions(app: TaskHub): void {
  const flakyAttempts = new Map<string, number>();
  const flakyStep = app.activity("FlakyStep", async (input: string, ctx) => {
    const attempt = (flakyAttempts.get(ctx.instanceId) ?? 0) + 1;
    flakyAttempts.set(ctx.instanceId, attempt);
    if (attempt === 1) throw new Error("first attempt fails");
    return `done ${input}`;
  });
  const explode = app.activity("Explode", async () => {
    throw new Error("kaput", { cause: new TypeError("inner reason") });
  });
  const approval = app.orchestrator("Approval", function* (ctx) {
    ctx.setCustomStatus("waiting for approval");
    const approved = yield* ctx.waitForExternalEvent<unknown>("approve");
    return { input: ctx.input, approved };
  });
  const identity = app.activity("Identity", async (input: unknown) => input);
  app.orchestrator("Echo", function* (ctx) {
    return yield* ctx.callActivity(identity, ctx.input);
  });
  app.orchestrator("Flaky", function* (ctx) {
    return yield* ctx.callActivity(flakyStep, String(ctx.input));
  });
  app.orchestrator("Fail", function* (ctx) {
    yield* ctx.callActivity(explode, undefined);
  });
  app.orchestrator("Parent", function* (ctx) {
    return yield* ctx.callSubOrchestrator(approval, ctx.input, `${ctx.instanceId}-child`);
  });
  app.entity<number>("Counter", (ctx) => {
    if (ctx.operationName === "add") ctx.setState(ctx.getState(() => 0) + ctx.getInput<number>());
    else if (ctx.operationName === "delete") ctx.destructOnExit();
  });
}

/** Creates the temp directory, the database (a SQLite file, or a fresh schema) and the running app. */
export async function startFixture(kind: "sqlite" | "postgres" = "sqlite"): Promise<CliFixture> {
  const dir = mkdtempSync(join(tmpdir(), "refrain-cli-"));
  const dbPath = join(dir, "app.db");
  const schema = kind === "postgres" ? randomSchema() : undefined;
  const store: Store = schema
    ? new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, pool: { max: 4 } })
    : new SqliteStore({ path: dbPath });
  const storeArgs = schema ? ["--database-url", TEST_DATABASE_URL, "--schema", schema] : ["--db", dbPath];
  const app = new TaskHub({ name: "default", store, maxIdleMs: 20 });
  registerFunctions(app);
  const close = async () => {
    try {
      await app.stop();
    } finally {
      if (schema) await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    await app.start();
  } catch (err) {
    await close();
    throw err;
  }

  const cliRaw = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      env,
    });
    return { code, stdout, stderr };
  };

  const waitForStatus = async (instanceId: string, statuses: string[]): Promise<OrchestrationStatus> => {
    const deadline = Date.now() + SAFETY_NET_MS;
    for (;;) {
      const status = await app.client.getStatus(instanceId);
      if (status && statuses.includes(status.runtimeStatus)) return status;
      if (Date.now() > deadline) {
        throw new Error(`${instanceId} never reached ${statuses.join("/")}: ${status?.runtimeStatus}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  return {
    dir,
    dbPath,
    storeArgs,
    app,
    cli: (...args) => cliRaw([...args, ...storeArgs]),
    cliRaw,
    waitForStatus,
    instanceIds: async () => (await app.client.getStatusAll()).map((s) => s.instanceId),
    close,
  };
}
