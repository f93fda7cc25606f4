/**
 * SQLite schema migrations: a file written by an older version of Refrain opens, is brought up
 * to the current schema in place, and keeps every instance, message and history it held.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HistoryEvent } from "../../src/core/events.js";
import { Database } from "../../src/store/sqlite/driver.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/sqlite/schema.js";
import {
  checkpointFor,
  eventMessage,
  HUB,
  leaseOrchestration,
  newInstance,
  ORCH,
  OTHER_HUB,
  someEvents,
} from "./fixtures.js";
import { useSqliteFiles } from "./sqlite-files.js";

type RawDatabase = InstanceType<typeof Database>;

/** Creates a file at schema `version`, as that version of Refrain left it. */
function fileAtVersion(path: string, version: number): RawDatabase {
  const raw = new Database(path);
  for (const migration of MIGRATIONS.filter((m) => m.version <= version)) raw.exec(migration.sql);
  raw.exec("CREATE TABLE refrain_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)");
  raw.prepare("INSERT INTO refrain_meta (key, value) VALUES ('schema_version', ?)").run(String(version));
  return raw;
}

describe("SQLite schema migrations", () => {
  const files = useSqliteFiles();

  test("a version 1 file is migrated: the inbox index by kind replaces the one by visible time", async () => {
    const raw = fileAtVersion(files.file, 1);
    raw
      .prepare("INSERT INTO inbox (hub, instance_id, event, visible_at) VALUES (?, 'o', ?, ?)")
      .run(HUB, JSON.stringify(eventMessage("o", "e").event), Date.now() - 1000);
    raw.close();
    const store = await files.open();
    assert.equal(store.diagnostics().schemaVersion, SCHEMA_VERSION);
    await store.close();
    const check = new Database(files.file, { readonly: true });
    try {
      const indexes = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'inbox' ORDER BY name")
        .pluck()
        .all();
      assert.deepStrictEqual(indexes, ["inbox_by_instance", "inbox_by_kind_visible"]);
      assert.equal(check.prepare("SELECT COUNT(*) FROM inbox").pluck().get(), 1, "the message survives");
    } finally {
      check.close();
    }
  });

  test("a version 2 file is migrated: each instance keeps its current execution's history", async () => {
    const raw = fileAtVersion(files.file, 2);
    const addInstance = raw.prepare(
      `INSERT INTO instances (hub, instance_id, name, execution_id, runtime_status, created_at, last_updated_at)
       VALUES (?, ?, ?, ?, 'Running', ?, ?)`,
    );
    const addEvents = (hub: string, id: string, executionId: string, events: HistoryEvent[]) => {
      const insert = raw.prepare(
        "INSERT INTO history (hub, instance_id, execution_id, seq, event) VALUES (?, ?, ?, ?, ?)",
      );
      for (const [seq, event] of events.entries())
        insert.run(hub, id, executionId, seq, JSON.stringify(event));
    };
    // The same ID in two hubs, created in the opposite order of their IDs; one instance with the
    // rows of an execution it left behind.
    addInstance.run(HUB, "same", ORCH, "x-e1", 2000, 2000);
    addInstance.run(OTHER_HUB, "same", ORCH, "y-e1", 1000, 1000);
    addInstance.run(HUB, "moved-on", ORCH, "m-e2", 1500, 1500);
    addEvents(HUB, "same", "x-e1", someEvents(3));
    addEvents(OTHER_HUB, "same", "y-e1", someEvents(1, 10));
    addEvents(HUB, "moved-on", "m-e1", someEvents(5));
    addEvents(HUB, "moved-on", "m-e2", someEvents(2, 20));
    raw.close();

    const store = await files.open();
    assert.equal(store.diagnostics().schemaVersion, SCHEMA_VERSION);
    assert.deepStrictEqual(await store.getHistory(HUB, "same"), someEvents(3));
    assert.deepStrictEqual(await store.getHistory(OTHER_HUB, "same"), someEvents(1, 10));
    assert.deepStrictEqual(await store.getHistory(HUB, "moved-on"), someEvents(2, 20));

    // Histories go on where they were; a new instance gets a history of its own.
    await store.createInstance(HUB, newInstance("new"));
    await store.appendMessage(HUB, eventMessage("same", "go"));
    for (let i = 0; i < 2; i++) {
      const item = await leaseOrchestration(store);
      const events = someEvents(1, 100 + i);
      await store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          history: { mode: "append", events },
          consumedMessageIds: item.messages.map((m) => m.id),
        }),
      );
    }
    const same = await store.getHistory(HUB, "same");
    assert.equal(same.length, someEvents(3).length + someEvents(1).length);
    assert.deepStrictEqual(same.slice(0, someEvents(3).length), someEvents(3));
    assert.equal((await store.getHistory(HUB, "new")).length, someEvents(1).length);
    assert.deepStrictEqual(await store.getHistory(OTHER_HUB, "same"), someEvents(1, 10));
    await store.close();

    const check = new Database(files.file, { readonly: true });
    try {
      const keys = check.prepare("SELECT history_key FROM instances ORDER BY history_key").pluck().all();
      assert.deepStrictEqual(keys, [1, 2, 3, 4], "keys in creation order, then the new instance's");
      const orphans = check
        .prepare("SELECT COUNT(*) FROM history WHERE history_key NOT IN (SELECT history_key FROM instances)")
        .pluck()
        .get();
      assert.equal(orphans, 0, "the left-behind execution's rows are gone");
    } finally {
      check.close();
    }
  });

  test("a version 3 file is migrated: instance rows keep every column, stored in history-key order", async () => {
    const raw = fileAtVersion(files.file, 3);
    const addInstance = raw.prepare(
      `INSERT INTO instances (hub, instance_id, name, execution_id, runtime_status, input, output, custom_status,
         failure, parent, created_at, last_updated_at, completed_at, lease_worker, lease_token, lease_expires_at,
         history_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // IDs in the opposite order of their keys: the old table kept rows in ID order.
    addInstance.run(
      HUB,
      "b",
      ORCH,
      "b-e1",
      "Completed",
      "1",
      "2",
      '"s"',
      null,
      null,
      1000,
      1100,
      1100,
      null,
      null,
      null,
      1,
    );
    addInstance.run(
      HUB,
      "a",
      ORCH,
      "a-e1",
      "Running",
      "3",
      null,
      null,
      null,
      '{"instanceId":"b"}',
      2000,
      2100,
      null,
      "w",
      "t",
      9e12,
      2,
    );
    const addEvent = raw.prepare("INSERT INTO history (history_key, seq, event) VALUES (?, ?, ?)");
    for (const [seq, event] of someEvents(2).entries()) addEvent.run(2, seq, JSON.stringify(event));
    const before = raw.prepare("SELECT * FROM instances ORDER BY history_key").all();
    raw.close();

    const store = await files.open();
    assert.equal(store.diagnostics().schemaVersion, SCHEMA_VERSION);
    assert.deepStrictEqual(await store.getHistory(HUB, "a"), someEvents(2));
    await assert.rejects(store.createInstance(HUB, newInstance("a")), { code: "INSTANCE_ALREADY_EXISTS" });
    await store.createInstance(HUB, newInstance("c"));
    await store.close();

    const check = new Database(files.file, { readonly: true });
    try {
      const after = check
        .prepare("SELECT * FROM instances WHERE history_key <= 2 ORDER BY history_key")
        .all();
      assert.deepStrictEqual(after, before, "every column of every row survives");
      const ids = check.prepare("SELECT instance_id FROM instances ORDER BY rowid").pluck().all();
      assert.deepStrictEqual(ids, ["b", "a", "c"], "rows in key order; a new row goes last");
      const keyIsRowid = check
        .prepare("SELECT COUNT(*) FROM instances WHERE rowid = history_key")
        .pluck()
        .get();
      assert.equal(keyIsRowid, 3);
    } finally {
      check.close();
    }
  });
});
