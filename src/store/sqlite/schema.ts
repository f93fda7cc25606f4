/**
 * The SQLite schema and its versioned migrations, and the checks that make `open()` refuse any
 * file that is not a Refrain store. Every table has a `hub` column leading its keys and indexes,
 * so several task hubs share one file without seeing each other.
 */
import type BetterSqlite3 from "better-sqlite3";
import { StoreCorruptError } from "../../core/errors.js";

/** One schema migration: SQL run once, in order, inside a transaction. */
export interface Migration {
  /** The schema version after this migration. */
  version: number;
  description: string;
  sql: string;
}

/**
 * The inbox's kind expression: 1 for a message to an entity (its instance ID begins with "@"),
 * 0 for one to an orchestration. Queries must spell it exactly so for SQLite to use the index.
 */
export const INBOX_KIND = "(substr(instance_id, 1, 1) = '@')";

/** Every migration in order; the last one's version is the schema version this code writes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "instances, history, inbox, activity tasks",
    sql: `
      CREATE TABLE instances (
        hub TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        runtime_status TEXT NOT NULL,
        input TEXT,
        output TEXT,
        custom_status TEXT,
        failure TEXT,
        parent TEXT,
        created_at INTEGER NOT NULL,
        last_updated_at INTEGER NOT NULL,
        completed_at INTEGER,
        lease_worker TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER,
        PRIMARY KEY (hub, instance_id)
      ) WITHOUT ROWID;
      CREATE INDEX instances_by_created ON instances (hub, created_at, instance_id);
      CREATE INDEX instances_by_status ON instances (hub, runtime_status, created_at);

      CREATE TABLE history (
        hub TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (hub, instance_id, execution_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hub TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution_id TEXT,
        event TEXT NOT NULL,
        visible_at INTEGER NOT NULL
      );
      CREATE INDEX inbox_by_visible ON inbox (hub, visible_at, id);
      CREATE INDEX inbox_by_instance ON inbox (hub, instance_id, visible_at, id);

      CREATE TABLE activity_tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hub TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        task_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        input TEXT,
        attempt INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        delivery_count INTEGER NOT NULL DEFAULT 0,
        lease_worker TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER
      );
      CREATE INDEX activity_tasks_by_visible ON activity_tasks (hub, visible_at, id);
      CREATE INDEX activity_tasks_by_instance ON activity_tasks (hub, instance_id);
    `,
  },
  {
    version: 2,
    description: "inbox indexed by kind (entity or orchestration) before visible time",
    // Entity instance IDs begin with "@" and orchestration IDs never do: with the kind leading the
    // index, a dispatcher finds the first message of its own kind without walking past every
    // message of the other kind (10,000 due timers made each idle check of the entity
    // dispatcher cost milliseconds).
    sql: `
      DROP INDEX inbox_by_visible;
      CREATE INDEX inbox_by_kind_visible ON inbox (hub, ${INBOX_KIND}, visible_at, id);
    `,
  },
  {
    version: 3,
    description: "history as an append-only log, found through each instance's integer history key",
    // History rows used to be clustered by (hub, instance ID, execution ID, seq): a commit of
    // 150 steps of 150 instances dirtied 150 history pages, 85 % of the write-ahead log. Rows now
    // go to the end of a rowid table (one commit's events share a few pages) and a small index of
    // integers, (history_key, seq), finds an instance's rows. A history holds the instance's
    // current execution only, so neither hub nor execution ID is stored with its rows; rows of an
    // older execution, unreachable before, are not carried over.
    sql: `
      ALTER TABLE instances ADD COLUMN history_key INTEGER;
      WITH numbered AS (
        SELECT hub, instance_id, row_number() OVER (ORDER BY created_at, hub, instance_id) AS n FROM instances
      )
      UPDATE instances SET history_key = numbered.n FROM numbered
        WHERE instances.hub = numbered.hub AND instances.instance_id = numbered.instance_id;
      CREATE UNIQUE INDEX instances_by_history_key ON instances (history_key);
      CREATE TABLE history_log (
        id INTEGER PRIMARY KEY,
        history_key INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        event TEXT NOT NULL
      );
      INSERT INTO history_log (history_key, seq, event)
        SELECT i.history_key, h.seq, h.event FROM history h
        JOIN instances i ON i.hub = h.hub AND i.instance_id = h.instance_id AND i.execution_id = h.execution_id
        ORDER BY i.history_key, h.seq;
      DROP TABLE history;
      ALTER TABLE history_log RENAME TO history;
      CREATE UNIQUE INDEX history_by_key ON history (history_key, seq);
    `,
  },
  {
    version: 4,
    description: "instance rows stored in creation order, found by ID through an index",
    // Rows clustered by instance ID put instances created together (and so, usually, stepped
    // together) on as many pages as there are instances: with random IDs, a commit of 50 steps
    // dirtied 50 instance pages, twice per step (lease, then checkpoint). Keyed by the history key,
    // which grows with each insert, rows created together share pages; a unique index on
    // (hub, instance ID), never rewritten by an update, finds them.
    sql: `
      CREATE TABLE instances_by_key (
        history_key INTEGER PRIMARY KEY,
        hub TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        name TEXT NOT NULL,
        execution_id TEXT NOT NULL,
        runtime_status TEXT NOT NULL,
        input TEXT,
        output TEXT,
        custom_status TEXT,
        failure TEXT,
        parent TEXT,
        created_at INTEGER NOT NULL,
        last_updated_at INTEGER NOT NULL,
        completed_at INTEGER,
        lease_worker TEXT,
        lease_token TEXT,
        lease_expires_at INTEGER
      );
      INSERT INTO instances_by_key (history_key, hub, instance_id, name, execution_id, runtime_status, input,
          output, custom_status, failure, parent, created_at, last_updated_at, completed_at, lease_worker,
          lease_token, lease_expires_at)
        SELECT history_key, hub, instance_id, name, execution_id, runtime_status, input, output, custom_status,
          failure, parent, created_at, last_updated_at, completed_at, lease_worker, lease_token, lease_expires_at
        FROM instances ORDER BY history_key;
      DROP TABLE instances;
      ALTER TABLE instances_by_key RENAME TO instances;
      CREATE UNIQUE INDEX instances_by_id ON instances (hub, instance_id);
      CREATE INDEX instances_by_created ON instances (hub, created_at, instance_id);
      CREATE INDEX instances_by_status ON instances (hub, runtime_status, created_at);
    `,
  },
];

/** The schema version this code creates and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const META_TABLE = "refrain_meta";

function tableNames(db: BetterSqlite3.Database): string[] {
  const rows = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}

function readVersion(db: BetterSqlite3.Database, path: string): number {
  const row = db.prepare(`SELECT value FROM ${META_TABLE} WHERE key = 'schema_version'`).get() as
    | { value: string }
    | undefined;
  const version = row === undefined ? Number.NaN : Number(row.value);
  if (!Number.isInteger(version) || version < 0) {
    throw new StoreCorruptError(
      `'${path}' is not a valid Refrain store: ${META_TABLE} has no valid schema_version`,
    );
  }
  return version;
}

/**
 * Throws `StoreCorruptError` unless the database is empty or a Refrain store whose schema this
 * code knows. Reads only; safe to call before changing any setting of the file.
 */
export function checkDatabase(db: BetterSqlite3.Database, path: string): void {
  const tables = tableNames(db);
  if (tables.length === 0) return;
  if (!tables.includes(META_TABLE)) {
    throw new StoreCorruptError(
      `'${path}' is a SQLite database but not a Refrain store (it has tables ${tables
        .slice(0, 5)
        .map((t) => `'${t}'`)
        .join(", ")} and no ${META_TABLE}); point Refrain at a new file`,
    );
  }
  const version = readVersion(db, path);
  if (version > SCHEMA_VERSION) {
    throw new StoreCorruptError(
      `'${path}' has Refrain schema version ${version}, newer than this version of Refrain understands ` +
        `(${SCHEMA_VERSION}); upgrade Refrain`,
    );
  }
}

/**
 * Brings the schema up to `SCHEMA_VERSION`, applying the missing migrations in one immediate
 * transaction (so two processes opening the same new file do not both migrate). Idempotent.
 */
export function migrate(db: BetterSqlite3.Database, path: string): void {
  db.transaction(() => {
    checkDatabase(db, path);
    if (!tableNames(db).includes(META_TABLE)) {
      db.exec(`CREATE TABLE ${META_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`);
      db.prepare(`INSERT INTO ${META_TABLE} (key, value) VALUES ('schema_version', '0')`).run();
    }
    const current = readVersion(db, path);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare(`UPDATE ${META_TABLE} SET value = ? WHERE key = 'schema_version'`).run(
        String(migration.version),
      );
    }
  }).immediate();
}
