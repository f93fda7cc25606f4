/**
 * SQLite-only behaviour: file settings, durability across reopen, refusing foreign or newer
 * files (migrations: sqlite-migrations.test.ts), sharing one file between connections (app + CLI)
 * and between hubs, the history key, whole-commit rollback, and busy handling.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { Database } from "../../src/store/sqlite/driver.js";
import { SCHEMA_VERSION } from "../../src/store/sqlite/schema.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { eventually } from "../hub/fixtures.js";
import {
  activityTask,
  checkpointFor,
  eventMessage,
  HUB,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  ORCH,
  OTHER_HUB,
  rejectsWithCode,
  someEvents,
  WORKER,
} from "./fixtures.js";
import { useSqliteFiles } from "./sqlite-files.js";

describe("SqliteStore specifics", () => {
  const files = useSqliteFiles();
  let dir: string;
  let file: string;
  beforeEach(() => {
    ({ dir, file } = files);
  });
  const openStore = files.open;

  /** Asserts that opening `path` fails with STORE_CORRUPT and a message naming the file. */
  async function assertCorrupt(path: string, pattern?: RegExp): Promise<void> {
    const store = files.track(new SqliteStore({ path }));
    await assert.rejects(store.open(), (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, "STORE_CORRUPT");
      assert.ok(String((err as Error).message).includes(path), `message names the file: ${String(err)}`);
      if (pattern) assert.match(String((err as Error).message), pattern);
      return true;
    });
    await rejectsWithCode(store.getInstance(HUB, "a"), "STORE_CLOSED");
  }

  test("WAL journal mode and synchronous=FULL are in effect by default", async () => {
    const store = await openStore();
    const other = new Database(file, { readonly: true });
    try {
      assert.equal(other.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      other.close();
    }
    const d = store.diagnostics();
    assert.deepStrictEqual(
      { journalMode: d.journalMode, synchronous: d.synchronous, busyTimeoutMs: d.busyTimeoutMs },
      { journalMode: "wal", synchronous: "FULL", busyTimeoutMs: 5000 },
    );
    assert.equal(d.schemaVersion, SCHEMA_VERSION);
  });

  test("synchronous and busy timeout can be configured", async () => {
    const store = await openStore({ synchronous: "NORMAL", busyTimeoutMs: 250 });
    assert.equal(store.diagnostics().synchronous, "NORMAL");
    assert.equal(store.diagnostics().busyTimeoutMs, 250);
  });

  test("the parent directory is created", async () => {
    const nested = join(dir, "a", "b", "refrain.db");
    await openStore({ path: nested });
    assert.ok(existsSync(nested));
  });

  test("a step of many events is written in several multi-row inserts, in order", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a"));
    const item = await leaseOrchestration(store);
    const events = someEvents(19); // 20 events: two inserts of 8 rows and one of 4
    await store.commitOrchestration(item.lease, checkpointFor(item, { history: { mode: "append", events } }));
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), events);
    await store.appendMessage(HUB, eventMessage("a", "more"));
    const next = await leaseOrchestration(store);
    assert.equal(next.history.length, events.length);
    const more = someEvents(3, 19);
    await store.commitOrchestration(
      next.lease,
      checkpointFor(next, { history: { mode: "append", events: more } }),
    );
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), [...events, ...more]);
  });

  test("data survives closing and reopening the file", async () => {
    const first = await openStore();
    await first.createInstance(HUB, newInstance("a", { input: '"in"' }));
    const item = await leaseOrchestration(first);
    await first.commitOrchestration(
      item.lease,
      checkpointFor(item, {
        history: { mode: "append", events: someEvents(2) },
        activities: [activityTask("a", "a-e1", 0)],
        messages: [eventMessage("a", "timer", Date.now() + 60_000)],
      }),
    );
    const rowBefore = await first.getInstance(HUB, "a");
    await first.close();
    await first.close();
    const second = await openStore();
    await second.open();
    assert.deepStrictEqual(await second.getInstance(HUB, "a"), rowBefore);
    assert.deepStrictEqual(await second.getHistory(HUB, "a"), someEvents(2));
    assert.equal((await second.leaseNextActivity(HUB, WORKER, ["Act"], LONG_LEASE))?.task.taskId, 0);
    const wake = await second.nextWakeUp(HUB, [ORCH], []);
    assert.ok(wake !== undefined && wake > Date.now(), "the future message survived");
  });

  test("an empty file is initialised as a new store", async () => {
    writeFileSync(file, "");
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a"));
    assert.ok(await store.getInstance(HUB, "a"));
  });

  test("a text file is refused with StoreCorruptError", async () => {
    writeFileSync(file, "this is a text file, not a database\n".repeat(40));
    await assertCorrupt(file);
    assert.equal(statSync(file).size, 36 * 40, "the file is left untouched");
  });

  test("a file of random bytes is refused with StoreCorruptError", async () => {
    writeFileSync(file, randomBytes(8192));
    await assertCorrupt(file);
  });

  test("a SQLite file of another application is refused and left untouched", async () => {
    const foreign = new Database(file);
    foreign.exec(
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x')",
    );
    foreign.close();
    await assertCorrupt(file, /users/);
    const check = new Database(file, { readonly: true });
    try {
      const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      assert.deepStrictEqual(tables, ["users"]);
      assert.equal(check.pragma("journal_mode", { simple: true }), "delete");
    } finally {
      check.close();
    }
  });

  test("a newer schema version is refused", async () => {
    const store = await openStore();
    await store.close();
    const raw = new Database(file);
    raw.prepare("UPDATE refrain_meta SET value = '999' WHERE key = 'schema_version'").run();
    raw.close();
    await assertCorrupt(file, /999/);
  });

  test("reads of instance rows asked for together are answered, also when the store closes next", async () => {
    const store = await openStore();
    for (const id of ["a", "b", "c"]) await store.createInstance(HUB, newInstance(id));
    // The first read goes at once; the others wait for the batch, which the close runs first.
    const reads = ["a", "b", "missing", "c", "b"].map((id) => store.getInstance(HUB, id));
    await store.close();
    const rows = await Promise.all(reads);
    assert.deepStrictEqual(
      rows.map((r) => r?.instanceId),
      ["a", "b", undefined, "c", "b"],
    );
    await rejectsWithCode(store.getInstance(HUB, "a"), "STORE_CLOSED");
  });

  test("opening an existing store again does not re-run migrations", async () => {
    const first = await openStore();
    await first.createInstance(HUB, newInstance("a"));
    await first.close();
    const second = await openStore();
    assert.equal(second.diagnostics().schemaVersion, SCHEMA_VERSION);
    assert.ok(await second.getInstance(HUB, "a"));
  });

  test("two stores on one file (app and CLI) see each other's writes and respect leases", async () => {
    const app = await openStore();
    const cli = await openStore();
    await app.createInstance(HUB, newInstance("a"));
    assert.equal((await cli.getInstance(HUB, "a"))?.runtimeStatus, "Pending");
    const item = await leaseOrchestration(cli, HUB, "cli");
    assert.equal(await app.leaseNextOrchestration(HUB, "app", [ORCH], LONG_LEASE), undefined);
    await cli.commitOrchestration(
      item.lease,
      checkpointFor(item, { history: { mode: "append", events: someEvents(1) } }),
    );
    assert.deepStrictEqual(await app.getHistory(HUB, "a"), someEvents(1));
    await app.appendMessage(HUB, eventMessage("a", "from-app"));
    const next = await leaseOrchestration(cli, HUB, "cli");
    assert.equal(next.messages.length, 1);
    await rejectsWithCode(app.commitOrchestration(item.lease, checkpointFor(item)), "LEASE_LOST");
  });

  test("another connection's commits reach listeners as external-change; the store's own do not", async () => {
    const app = await openStore();
    const cli = await openStore();
    const seen: string[] = [];
    const unsubscribe = app.subscribe(HUB, (n) => seen.push(n.kind));
    await app.createInstance(HUB, newInstance("own"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(
      !seen.includes("external-change"),
      `own writes are reported as what they are: ${seen.join(", ")}`,
    );
    await cli.appendMessage(HUB, eventMessage("own", "from-cli"));
    await eventually("the other connection's commit to be noticed", () => seen.includes("external-change"));
    unsubscribe();
  });

  test("several hubs share one file without seeing each other", async () => {
    const store = await openStore();
    for (const hub of [HUB, OTHER_HUB, "third"]) {
      await store.createInstance(hub, newInstance("same", { input: JSON.stringify(hub) }));
      await store.createInstance(hub, newInstance(`only-${hub}`));
    }
    await store.close();
    const reopened = await openStore();
    for (const hub of [HUB, OTHER_HUB, "third"]) {
      const page = await reopened.listInstances(hub, {});
      assert.deepStrictEqual(page.instances.map((r) => r.instanceId).sort(), [`only-${hub}`, "same"]);
      assert.equal((await reopened.getInstance(hub, "same"))?.input, JSON.stringify(hub));
    }
  });

  test("a repeated history sequence number is a constraint error, never an overwrite", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a"));
    const item = await leaseOrchestration(store);
    await store.commitOrchestration(
      item.lease,
      checkpointFor(item, { history: { mode: "append", events: someEvents(0) } }),
    );
    const raw = new Database(file);
    try {
      assert.throws(
        () =>
          raw
            .prepare(
              `INSERT INTO history (history_key, seq, event)
               SELECT history_key, 0, '{}' FROM instances WHERE hub = ? AND instance_id = ?`,
            )
            .run(HUB, "a"),
        (err: unknown) => String((err as { code?: unknown }).code).startsWith("SQLITE_CONSTRAINT"),
      );
    } finally {
      raw.close();
    }
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), someEvents(0));
  });

  test("a commit that fails half-way writes nothing and keeps the lease", async () => {
    const store = await openStore();
    await store.createInstance(HUB, newInstance("a"));
    await store.createInstance(HUB, newInstance("b", { visibleAt: Date.now() + 60_000 }));
    const item = await leaseOrchestration(store);
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER boom BEFORE INSERT ON activity_tasks WHEN NEW.name = 'Boom'
              BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    raw.close();
    const rowBefore = await store.getInstance(HUB, "a");
    await assert.rejects(
      store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          history: { mode: "append", events: someEvents(2) },
          instance: { runtimeStatus: "Completed", output: '"x"' },
          messages: [eventMessage("b", "hello")],
          activities: [activityTask("a", "a-e1", 0), activityTask("a", "a-e1", 1, "Boom")],
        }),
      ),
      /boom/,
    );
    assert.deepStrictEqual(await store.getInstance(HUB, "a"), rowBefore);
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), []);
    assert.equal(await store.leaseNextActivity(HUB, WORKER, ["Act"], LONG_LEASE), undefined);
    assert.equal(
      await store.leaseNextOrchestration(HUB, WORKER, [ORCH], LONG_LEASE),
      undefined,
      "b got nothing",
    );
    // The lease is still held: the same step commits once the fault is gone.
    await store.commitOrchestration(
      item.lease,
      checkpointFor(item, { history: { mode: "append", events: someEvents(2) } }),
    );
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), someEvents(2));
  });

  test("a write blocked by another process past the busy timeout is StoreUnavailableError", async () => {
    const store = await openStore({ busyTimeoutMs: 50 });
    const raw = new Database(file);
    raw.exec("BEGIN IMMEDIATE");
    try {
      await assert.rejects(store.createInstance(HUB, newInstance("a")), (err: unknown) => {
        const e = err as { code?: unknown; retryable?: unknown };
        assert.equal(e.code, "STORE_UNAVAILABLE");
        assert.equal(e.retryable, true);
        return true;
      });
    } finally {
      raw.exec("ROLLBACK");
      raw.close();
    }
    await store.createInstance(HUB, newInstance("a"));
    assert.ok(await store.getInstance(HUB, "a"));
  });

  test("invalid options are rejected", () => {
    assert.throws(() => new SqliteStore({ path: file, synchronous: "OFF" as "FULL" }), /synchronous/);
    assert.throws(() => new SqliteStore({ path: file, busyTimeoutMs: -1 }), /busyTimeoutMs/);
  });
});
