/**
 * Extra worker processes for a measured run on a shared store (PostgreSQL): each child runs
 * bench/worker.ts on the same schema with the same functions, so the run is served by the
 * benchmark process plus the children. Children are started fresh for every measured run and
 * report their own CPU seconds and peak RSS over the measured window when stopped.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { StoreSpec } from "./stores.js";
import type { ParentMessage, WorkerMessage } from "./worker.js";

const WORKER_SCRIPT = fileURLToPath(new URL("./worker.js", import.meta.url));

/** How long a child may take to open the store and start serving. */
const READY_TIMEOUT_MS = 30_000;

/** How long a child may take to stop once asked. */
const STOP_TIMEOUT_MS = 30_000;

/** How long a child may take to exit after its stop report, before it is killed. */
const EXIT_TIMEOUT_MS = 5_000;

function exited(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(resolve, ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** What the children used over the measured window. */
export interface PoolUsage {
  /** Sum of the children's CPU seconds (user + system). */
  cpuS: number;
  /** The highest peak RSS of any child, in MB (0 without children). */
  peakRssMb: number;
}

const live = new Set<ChildProcess>();

function waitFor<T>(
  child: ChildProcess,
  what: string,
  ms: number,
  pick: (m: WorkerMessage) => T | undefined,
) {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`worker ${child.pid}: no ${what} after ${ms} ms`)), ms);
    const onMessage = (m: WorkerMessage) => {
      const value = pick(m);
      if (value !== undefined) done(undefined, value);
    };
    // "disconnect" comes after every message the child sent was read, unlike "exit".
    const onGone = () => done(new Error(`worker ${child.pid} went away before ${what}`));
    function done(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("disconnect", onGone);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.on("message", onMessage);
    child.on("disconnect", onGone);
  });
}

/** A set of running worker children. */
export class WorkerPool {
  private constructor(private readonly children: ChildProcess[]) {}

  /** Starts `count` children on the store `spec` and waits until every one serves. */
  static async start(spec: StoreSpec, count: number, concurrency: number): Promise<WorkerPool> {
    const children: ChildProcess[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(WORKER_SCRIPT, [JSON.stringify(spec), String(concurrency)], {
        stdio: ["ignore", 2, 2, "ipc"],
      });
      live.add(child);
      child.on("exit", () => live.delete(child));
      children.push(child);
    }
    const pool = new WorkerPool(children);
    try {
      await Promise.all(
        children.map((c) =>
          waitFor(c, "ready", READY_TIMEOUT_MS, (m) => (m.type === "ready" ? true : undefined)),
        ),
      );
    } catch (err) {
      pool.kill();
      throw err;
    }
    return pool;
  }

  /** Number of children. */
  get size(): number {
    return this.children.length;
  }

  /** Starts the measured window in every child. */
  mark(): void {
    const message: ParentMessage = { type: "mark" };
    for (const child of this.children) child.send(message);
  }

  /** Stops every child (their hubs close cleanly) and returns what they used since `mark()`. */
  async stop(): Promise<PoolUsage> {
    const message: ParentMessage = { type: "stop" };
    const reports = this.children.map(async (child) => {
      const report = waitFor(child, "stop report", STOP_TIMEOUT_MS, (m) =>
        m.type === "stopped" ? m : undefined,
      );
      child.send(message);
      const usage = await report;
      await exited(child, EXIT_TIMEOUT_MS);
      return usage;
    });
    try {
      const usage = await Promise.all(reports);
      return {
        cpuS: usage.reduce((sum, u) => sum + u.cpuS, 0),
        peakRssMb: Math.max(0, ...usage.map((u) => u.peakRssMb)),
      };
    } finally {
      this.kill();
    }
  }

  /** Kills the children still running (SIGKILL). */
  kill(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  }
}

/** Kills every worker child still running, for Ctrl-C. */
export function killAllWorkers(): void {
  for (const child of live) child.kill("SIGKILL");
}
