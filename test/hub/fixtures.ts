/**
 * Shared fixtures of the hub integration tests: a per-test environment that builds task hubs on a
 * fresh store of any kind (and stops them afterwards; for PostgreSQL a fresh schema per test,
 * dropped after it), gates for holding activities open, polling helpers and assertions on error
 * codes.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "node:test";
import type { DurableClient } from "../../src/client.js";
import type { OrchestrationContext } from "../../src/core/context.js";
import type { ErrorCode } from "../../src/core/errors.js";
import type { OrchestratorFunction } from "../../src/core/replay.js";
import type { EngineLogger } from "../../src/dispatch/runtime.js";
import { TaskHub, type TaskHubOptions } from "../../src/hub.js";
import type { OrchestrationStatus } from "../../src/status.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import {
  dropSchema,
  randomSchema,
  TEST_DATABASE_URL,
  unreachableReason,
} from "../store-conformance/postgres-env.js";

/** The stores every hub suite runs over. */
export type StoreKind = "memory" | "sqlite" | "postgres";

/**
 * Every store kind, for `for (const kind of STORE_KINDS) describe(label, storeSuiteOptions(kind), ...)`.
 */
export const STORE_KINDS: readonly StoreKind[] = ["memory", "sqlite", "postgres"];

const postgresUnreachable = await unreachableReason();

/**
 * The `describe` options of a suite over `kind`: PostgreSQL suites are skipped, with the reason in
 * the report, when the test database is unreachable, except under CI (`CI=true`), where they run
 * and fail.
 */
export function storeSuiteOptions(kind: StoreKind): { skip?: string } {
  if (kind !== "postgres" || postgresUnreachable === undefined || process.env.CI === "true") return {};
  return { skip: `${postgresUnreachable} (set DATABASE_URL to run)` };
}

/** Engine log lines kept in memory, so expected warnings do not clutter test output. */
export interface RecordingLogger extends EngineLogger {
  readonly lines: { level: string; message: string }[];
}

/** Makes a logger that records every engine log line. */
export function recordingLogger(): RecordingLogger {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** One test's database and the hubs built on it. */
export interface HubEnv {
  readonly kind: StoreKind;
  /** The engine log of every hub of this test (unless a test passes its own logger). */
  readonly logger: RecordingLogger;
  /**
   * A new store object on this test's database. SQLite: a new connection to the same file.
   * PostgreSQL: a new pool on the test's schema. Memory: the test's single MemoryStore (so only
   * one hub of a test may be stopped before the end).
   */
  store(): Store;
  /** A task hub on `store()`, with a short stop grace and a quiet logger; stopped after the test. */
  hub(options?: TaskHubOptions): TaskHub;
}

/** Registers beforeEach/afterEach in the enclosing `describe`: a fresh database per test. */
export function useHubEnv(kind: StoreKind): HubEnv {
  let dir: string | undefined;
  let schema: string | undefined;
  let memory: MemoryStore | undefined;
  let logger = recordingLogger();
  const hubs: TaskHub[] = [];
  beforeEach(() => {
    logger = recordingLogger();
    if (kind === "sqlite") dir = mkdtempSync(join(tmpdir(), "refrain-hub-"));
    else if (kind === "postgres") schema = randomSchema();
    else memory = new MemoryStore();
  });
  afterEach(async () => {
    const all = hubs.splice(0);
    try {
      await Promise.all(all.map((h) => h.stop()));
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (schema) await dropSchema(schema);
      dir = undefined;
      schema = undefined;
      memory = undefined;
    }
  });
  const env: HubEnv = {
    kind,
    get logger() {
      return logger;
    },
    store() {
      if (kind === "memory") {
        assert.ok(memory, "no store: the environment is used outside a test");
        return memory;
      }
      if (kind === "postgres") {
        assert.ok(schema, "no schema: the environment is used outside a test");
        return new PostgresStore({ connectionString: TEST_DATABASE_URL, schema, pool: { max: 4 } });
      }
      assert.ok(dir, "no database: the environment is used outside a test");
      return new SqliteStore({ path: join(dir, "refrain.db") });
    },
    hub(options = {}) {
      const hub = new TaskHub({ store: env.store(), stopGraceMs: 200, logger, ...options });
      hubs.push(hub);
      return hub;
    },
  };
  return env;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Waits until the instance has the given runtime status and returns that status. */
export function statusBecomes(
  client: DurableClient,
  instanceId: string,
  runtimeStatus: OrchestrationStatus["runtimeStatus"],
): Promise<OrchestrationStatus> {
  return eventually(`${instanceId} to be ${runtimeStatus}`, async () => {
    const status = await client.getStatus(instanceId);
    return status?.runtimeStatus === runtimeStatus ? status : undefined;
  });
}

/** A promise that tests open by hand: activities await it to stay "running". */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

/** Makes a closed gate. */
export function gate(): Gate {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open: () => open() };
}

/** Asserts that `action` rejects with a Refrain error of `code` (and, when given, class `type`). */
export async function rejectsWithCode(
  action: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  type?: abstract new (...args: never[]) => Error,
): Promise<void> {
  const run = typeof action === "function" ? async () => action() : () => action;
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    assert.equal((err as { code?: unknown }).code, code, `wrong code; message: ${err.message}`);
    if (type) assert.ok(err instanceof type, `expected ${type.name}, got ${err.name}`);
    return true;
  });
}

/** Number of instances in the hub, across all pages. */
export async function instanceCount(client: DurableClient): Promise<number> {
  return (await client.getStatusAll()).length;
}

/** The kinds of the instance's history events, in order. */
export async function historyKinds(client: DurableClient, instanceId: string): Promise<string[]> {
  const status = await client.getStatus(instanceId, { showHistory: true });
  assert.ok(status?.history, `no history for ${instanceId}`);
  return status.history.map((e) => e.kind);
}

/** The history kinds without the step markers (OrchestratorStarted), for readable assertions. */
export async function historyActions(client: DurableClient, instanceId: string): Promise<string[]> {
  return (await historyKinds(client, instanceId)).filter((k) => k !== "OrchestratorStarted");
}

/** An orchestrator that finishes without waiting: `body`'s return value (or throw) is the outcome. */
export function immediate<I = unknown, O = unknown>(
  body: (ctx: OrchestrationContext<I>) => O,
): OrchestratorFunction<I, O> {
  // biome-ignore lint/correctness/useYield: an orchestrator that never waits is valid
  return function* (ctx) {
    return body(ctx);
  };
}
