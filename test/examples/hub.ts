/** Shared helpers of the example tests: a started hub per test, on memory or a temporary SQLite file. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore, type OrchestrationStatus, SqliteStore, type Store, TaskHub } from "../../src/index.js";

/** The stores the examples are tested on. */
export type StoreKind = "memory" | "sqlite";

/** A started hub with an example registered on it. */
export interface ExampleHub<T> {
  hub: TaskHub;
  /** What the example's `register` returned. */
  refs: T;
  /** Waits (up to 10 s) for an instance to finish and returns its final status. */
  finished(instanceId: string): Promise<OrchestrationStatus>;
  /** Stops the hub and deletes its temporary files. */
  close(): Promise<void>;
}

function openStore(kind: StoreKind): { store: Store; cleanup: () => void } {
  if (kind === "memory") return { store: new MemoryStore(), cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "refrain-examples-"));
  return {
    store: new SqliteStore({ path: join(dir, "examples.db") }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts a hub on a fresh store of `kind` with `register` applied; orchestrator logs are silenced. */
async function startExampleHub<T>(
  register: (hub: TaskHub) => T,
  kind: StoreKind = "memory",
): Promise<ExampleHub<T>> {
  const { store, cleanup } = openStore(kind);
  const hub = new TaskHub({ store, orchestrationLog: () => {} });
  const refs = register(hub);
  await hub.start();
  return {
    hub,
    refs,
    finished: (instanceId) => hub.client.waitForCompletion(instanceId, { timeoutMs: 10_000 }),
    close: async () => {
      await hub.stop();
      cleanup();
    },
  };
}

/** Runs `body` against a started example hub, then stops the hub whatever happened. */
export async function withExampleHub<T>(
  register: (hub: TaskHub) => T,
  kind: StoreKind,
  body: (h: ExampleHub<T>) => Promise<void>,
): Promise<void> {
  const h = await startExampleHub(register, kind);
  try {
    await body(h);
  } finally {
    await h.close();
  }
}
