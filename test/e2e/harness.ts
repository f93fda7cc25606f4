/**
 * Process plumbing of the crash tests: spawn the worker program, wait for it to be ready, kill it
 * with SIGKILL or stop it gracefully, and make sure no worker outlives the test. Also a seeded
 * PRNG for reproducible kill timings and a poller that waits for instances to finish.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { isTerminalStatus } from "../../src/core/events.js";
import type { DurableClient, OrchestrationStatus } from "../../src/index.js";
import { formatStoreSpec, type StoreSpec } from "./store-spec.js";

/** The compiled worker program (next to this file in dist/test/e2e/). */
export const WORKER_SCRIPT = fileURLToPath(new URL("./crash-worker.js", import.meta.url));

/** How a worker process ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Environment variables a worker never inherits from the test process. */
const FAULT_ENV = ["REFRAIN_FAULT_POINTS", "REFRAIN_FAULT_PROBABILITY", "REFRAIN_FAULT_ACTION"];

/** Every worker not yet known to have exited, so `after` hooks can kill them. */
const live = new Set<WorkerProcess>();

/** One worker process running crash-worker.js. */
export class WorkerProcess {
  /** Resolves when the worker printed "ready"; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<WorkerExit>;
  private readonly child: ChildProcess;
  private stderrText = "";
  private exit: WorkerExit | undefined;

  private constructor(store: StoreSpec, countsFile: string, env: Record<string, string>) {
    const baseEnv = { ...process.env };
    for (const name of FAULT_ENV) delete baseEnv[name];
    this.child = spawn(process.execPath, [WORKER_SCRIPT, formatStoreSpec(store), countsFile], {
      env: { ...baseEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(this);
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise<WorkerExit>((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    this.ready = new Promise<void>((resolve, reject) => {
      let stdout = "";
      this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        if (stdout.includes("ready\n")) resolve();
      });
      void this.exited.then((exit) =>
        reject(new Error(`worker exited before it was ready (${describeExit(exit)}): ${this.stderrText}`)),
      );
    });
    // A worker killed by a fault point before "ready" must not cause an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** Spawns a worker on `store`; `env` adds variables such as REFRAIN_FAULT_POINTS. */
  static spawn(store: StoreSpec, countsFile: string, env: Record<string, string> = {}): WorkerProcess {
    return new WorkerProcess(store, countsFile, env);
  }

  /** The worker ID it leases under (crash-worker.ts names itself after its pid). */
  get workerId(): string {
    return `crash-worker:${this.child.pid}`;
  }

  /** Everything the worker wrote to stderr (engine warnings and errors). */
  get stderr(): string {
    return this.stderrText;
  }

  /** Kills the worker with SIGKILL, as a power cut would, and waits until it is gone. */
  async kill(): Promise<WorkerExit> {
    if (!this.exit) this.child.kill("SIGKILL");
    return this.exited;
  }

  /** Freezes the worker (SIGSTOP), as a long GC pause or a stalled VM would; its leases run out meanwhile. */
  pause(): void {
    if (!this.exit) this.child.kill("SIGSTOP");
  }

  /** Lets a paused worker continue (SIGCONT), still believing it holds the leases it had. */
  resume(): void {
    if (!this.exit) this.child.kill("SIGCONT");
  }

  /** True while the process is stopped by SIGSTOP (reads /proc, so Linux only). */
  isFrozen(): boolean {
    if (this.exit || this.child.pid === undefined) return false;
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, "utf8");
      return /\) [Tt] /.test(stat);
    } catch {
      return false;
    }
  }

  /** Asks the worker to stop gracefully (SIGTERM); kills it if it has not exited in `graceMs`. */
  async stop(graceMs = 15_000): Promise<WorkerExit> {
    if (this.exit) return this.exit;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls `condition` every 50 ms until it holds; throws `message` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${message} (waited ${timeoutMs} ms)`);
    await sleep(50);
  }
}

/** Like `waitFor`, for a condition that needs I/O (a query). */
export async function waitForAsync(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  message: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${message} (waited ${timeoutMs} ms)`);
    await sleep(50);
  }
}

/**
 * Thaws a worker armed to pause at a fault point, and thaws it again each time it freezes, until
 * `condition` holds. A worker leases work in batches and group-commits their steps, so it reaches
 * the fault point again with the next item of the same batch before the batch's commit happens.
 */
export async function thawUntil(
  worker: WorkerProcess,
  condition: () => boolean,
  timeoutMs: number,
  message: string,
): Promise<void> {
  worker.resume();
  await waitFor(
    () => {
      if (condition()) return true;
      if (worker.isFrozen()) worker.resume();
      return false;
    },
    timeoutMs,
    message,
  );
}

/** Kills every worker still running; for `after` hooks, so none outlives a failed test. */
export async function killAllWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.kill()));
}

/** "exit code 0" or "signal SIGKILL". */
export function describeExit(exit: WorkerExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}

/** The engine's error lines in a worker's stderr (warnings about lost leases are expected). */
export function engineErrors(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.includes("refrain:") && !line.includes("lease lost"));
}

/** How many commits a worker's log says were refused because its lease was taken over. */
export function leaseLostLines(stderr: string): number {
  return stderr.split("\n").filter((line) => line.includes("lease lost")).length;
}

/** A seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed from REFRAIN_SEED when set (to replay a failure), otherwise a fresh one. */
export function chooseSeed(): number {
  const fromEnv = process.env.REFRAIN_SEED;
  if (fromEnv !== undefined && fromEnv !== "") return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 4_294_967_296);
}

/** How many of `instanceIds` are Completed, Failed or Terminated now. */
export async function countTerminal(client: DurableClient, instanceIds: readonly string[]): Promise<number> {
  let n = 0;
  for (const id of instanceIds) {
    const status = await client.getStatus(id, { showInput: false });
    if (status && isTerminalStatus(status.runtimeStatus)) n++;
  }
  return n;
}

/**
 * Polls until every instance is terminal and returns their statuses; on timeout throws an error
 * listing the unfinished ones with their status.
 */
export async function waitAllTerminal(
  client: DurableClient,
  instanceIds: readonly string[],
  timeoutMs: number,
): Promise<Map<string, OrchestrationStatus>> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, OrchestrationStatus>();
  for (;;) {
    for (const id of instanceIds) {
      if (done.has(id)) continue;
      const status = await client.getStatus(id);
      if (status && isTerminalStatus(status.runtimeStatus)) done.set(id, status);
    }
    if (done.size === instanceIds.length) return done;
    if (Date.now() > deadline) {
      const pending = instanceIds.filter((id) => !done.has(id));
      const described = await Promise.all(
        pending.slice(0, 20).map(async (id) => `${id}=${(await client.getStatus(id))?.runtimeStatus}`),
      );
      throw new Error(
        `${pending.length} of ${instanceIds.length} instances unfinished after ${timeoutMs} ms: ${described.join(", ")}`,
      );
    }
    await sleep(200);
  }
}
