/**
 * The PostgreSQL schema of the store and its versioned migrations. Everything lives in one
 * PostgreSQL schema per store (default "refrain"); every table has a `hub` column leading its
 * keys, so several task hubs share a schema without seeing each other. The store's PL/pgSQL
 * functions are in functions.ts.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { InvalidArgumentError, StoreCorruptError } from "../../core/errors.js";
import { storeFunctions } from "./functions.js";
import { INBOX_KIND } from "./plpgsql.js";

/** One schema migration: SQL run once, in order, inside the migration transaction. */
export interface Migration {
  /** The schema version after this migration. */
  version: number;
  description: string;
  /** The SQL for a store in `schema` whose notifications go to `channel`. */
  sql(schema: string, channel: string): string;
}

/** Tables and indexes: instances, history, inbox, activity tasks. */
const TABLES = (s: string): string => `
  CREATE TABLE ${s}.instances (
    hub text NOT NULL,
    instance_id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    execution_id text NOT NULL,
    runtime_status text NOT NULL,
    input text,
    output text,
    custom_status text,
    failure text,
    parent text,
    created_at bigint NOT NULL,
    last_updated_at bigint NOT NULL,
    completed_at bigint,
    lease_worker text,
    lease_token text,
    lease_expires_at bigint,
    PRIMARY KEY (hub, instance_id)
  );
  CREATE INDEX instances_by_created ON ${s}.instances (hub, created_at, instance_id);
  CREATE INDEX instances_by_status ON ${s}.instances (hub, runtime_status, created_at);

  CREATE TABLE ${s}.history (
    hub text NOT NULL,
    instance_id text COLLATE "C" NOT NULL,
    execution_id text NOT NULL,
    seq integer NOT NULL,
    event text NOT NULL,
    PRIMARY KEY (hub, instance_id, execution_id, seq)
  );

  CREATE TABLE ${s}.inbox (
    id bigint GENERATED ALWAYS AS IDENTITY,
    hub text NOT NULL,
    instance_id text COLLATE "C" NOT NULL,
    execution_id text,
    event text NOT NULL,
    visible_at bigint NOT NULL,
    PRIMARY KEY (hub, id)
  );
  CREATE INDEX inbox_by_visible ON ${s}.inbox (hub, visible_at, id);
  CREATE INDEX inbox_by_instance ON ${s}.inbox (hub, instance_id, visible_at, id);

  CREATE TABLE ${s}.activity_tasks (
    id bigint GENERATED ALWAYS AS IDENTITY,
    hub text NOT NULL,
    instance_id text COLLATE "C" NOT NULL,
    execution_id text NOT NULL,
    task_id integer NOT NULL,
    name text NOT NULL,
    input text,
    attempt integer NOT NULL,
    visible_at bigint NOT NULL,
    delivery_count integer NOT NULL DEFAULT 0,
    lease_worker text,
    lease_token text,
    lease_expires_at bigint,
    PRIMARY KEY (hub, id)
  );
  CREATE INDEX activity_tasks_by_visible ON ${s}.activity_tasks (hub, visible_at, id);
  CREATE INDEX activity_tasks_by_instance ON ${s}.activity_tasks (hub, instance_id);
`;

/**
 * Every migration in order; the last one's version is the schema version this code writes. A
 * migration that changes functions runs `storeFunctions` again: it always installs the current ones,
 * so a schema at any version ends with the functions of this code.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "instances, history, inbox, activity tasks and the store functions",
    sql: (s, channel) => TABLES(s) + storeFunctions(s, channel),
  },
  {
    version: 2,
    description: "entities (messages that create their target, idle purge); batched leases and commits",
    sql: (s, channel) =>
      `DROP FUNCTION IF EXISTS ${s}.refrain_lease_orchestration(text, text, text[], bigint, bigint, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_create_instance(text, json, boolean, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_insert_instance(text, json);
       DROP FUNCTION IF EXISTS ${s}.refrain_insert_instance(text, json, boolean);
       DROP FUNCTION IF EXISTS ${s}.refrain_apply_checkpoint(text, text, text, json, bigint);
       DROP FUNCTION IF EXISTS ${s}.refrain_ensure_instance(text, text, json, bigint);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 3,
    description:
      "commits that claim the activity tasks they create; completions with a following step; creations with a first step",
    sql: (s, channel) =>
      `DROP FUNCTION IF EXISTS ${s}.refrain_commit_orchestration(text, text, text, json, bigint, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_create_instances(text, json, boolean, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_commit_orchestrations(text, json, bigint, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_complete_activities(text, json, bigint, text);
       DROP FUNCTION IF EXISTS ${s}.refrain_apply_checkpoint(text, text, text, jsonb, bigint);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 4,
    description: "inbox indexed by kind (entity or orchestration); leases walk the inbox in order",
    sql: (s, channel) =>
      `CREATE INDEX IF NOT EXISTS inbox_by_kind_visible ON ${s}.inbox (hub, ${INBOX_KIND}, visible_at, id);
       DROP FUNCTION IF EXISTS ${s}.refrain_lease_orchestrations(text, text, text[], bigint, bigint, integer);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 5,
    description:
      "batch commits set-based and linear in the batch size; half-empty pages for instance and task rows",
    sql: (s, channel) =>
      `ALTER TABLE ${s}.instances SET (fillfactor = 50);
       ALTER TABLE ${s}.activity_tasks SET (fillfactor = 50);\n` + storeFunctions(s, channel),
  },
  {
    version: 6,
    description: "batch commits refer to each checkpoint by its position instead of copying it",
    sql: (s, channel) =>
      `DROP FUNCTION IF EXISTS ${s}.refrain_apply_checkpoints(text, jsonb, bigint, jsonb);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 7,
    description: "appendMessage adds its message once when a retry follows an attempt that committed",
    sql: (s, channel) =>
      `CREATE TABLE ${s}.message_keys (
         hub text NOT NULL,
         key text COLLATE "C" NOT NULL,
         created_at bigint NOT NULL,
         PRIMARY KEY (hub, key)
       );
       CREATE INDEX message_keys_by_age ON ${s}.message_keys (hub, created_at);
       DROP FUNCTION IF EXISTS ${s}.refrain_append_message(text, json, boolean, text, text, text, bigint);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 8,
    description: "orchestration leases that look ahead: messages visible within a window count as visible",
    sql: (s, channel) =>
      `DROP FUNCTION IF EXISTS ${s}.refrain_lease_orchestrations(text, text, text[], boolean, bigint, bigint, integer);\n` +
      storeFunctions(s, channel),
  },
  {
    version: 9,
    description: "work notifications carry visibleAt; appendMessage calls of one turn go as one batch",
    sql: storeFunctions,
  },
];

/** The schema version this code creates and understands. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The default PostgreSQL schema of a store. */
export const DEFAULT_SCHEMA = "refrain";

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates a schema name (lower-case identifier, at most 63 characters); returns it. */
export function validateSchemaName(schema: unknown): string {
  if (typeof schema !== "string" || !SCHEMA_NAME.test(schema) || schema.startsWith("pg_")) {
    throw new InvalidArgumentError(
      `schema must be a lower-case identifier matching ${SCHEMA_NAME} (and not start with "pg_"), ` +
        `got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/**
 * The LISTEN/NOTIFY channel of a schema: "refrain_<schema>", shortened with a hash when that
 * would exceed PostgreSQL's 63-character identifier limit.
 */
export function channelName(schema: string): string {
  const full = `refrain_${schema}`;
  if (full.length <= 63) return full;
  const hash = createHash("sha256").update(schema).digest("hex").slice(0, 12);
  return `${full.slice(0, 50)}_${hash}`;
}

/** What `applyMigrations` did: the schema version before and after. */
export interface MigrationResult {
  schema: string;
  fromVersion: number;
  toVersion: number;
}

async function readVersion(client: pg.ClientBase, schema: string): Promise<number> {
  const { rows } = await client.query<{ value: string }>(
    `SELECT value FROM "${schema}".refrain_meta WHERE key = 'schema_version'`,
  );
  const version = rows[0] === undefined ? Number.NaN : Number(rows[0].value);
  if (!Number.isInteger(version) || version < 0) {
    throw new StoreCorruptError(
      `schema '${schema}' is not a valid Refrain store: refrain_meta has no valid schema_version`,
    );
  }
  return version;
}

/**
 * Brings `schema` up to `SCHEMA_VERSION` in one transaction on `client`, under an advisory lock
 * keyed by the schema name, so processes starting at once migrate one after another. Creates the
 * schema when missing. Throws `StoreCorruptError` for a schema that holds tables but is not a
 * Refrain store, or has a newer schema version. Idempotent.
 */
export async function applyMigrations(client: pg.ClientBase, schema: string): Promise<MigrationResult> {
  validateSchemaName(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('refrain:' || $1::text))", [schema]);
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
    const tables = (
      await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = $1", [
        schema,
      ])
    ).rows.map((r) => r.tablename);
    if (!tables.includes("refrain_meta")) {
      if (tables.length > 0) {
        throw new StoreCorruptError(
          `schema '${schema}' holds tables (${tables.slice(0, 5).join(", ")}) but is not a Refrain store ` +
            "(no refrain_meta); choose another schema",
        );
      }
      await client.query(
        `CREATE TABLE "${schema}".refrain_meta (key text PRIMARY KEY, value text NOT NULL);
         INSERT INTO "${schema}".refrain_meta (key, value) VALUES ('schema_version', '0')`,
      );
    }
    const fromVersion = await readVersion(client, schema);
    if (fromVersion > SCHEMA_VERSION) {
      throw new StoreCorruptError(
        `schema '${schema}' has Refrain schema version ${fromVersion}, newer than this version of ` +
          `Refrain understands (${SCHEMA_VERSION}); upgrade Refrain`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= fromVersion) continue;
      await client.query(migration.sql(`"${schema}"`, channelName(schema)));
      await client.query(`UPDATE "${schema}".refrain_meta SET value = $1 WHERE key = 'schema_version'`, [
        String(migration.version),
      ]);
    }
    await client.query("COMMIT");
    return { schema, fromVersion, toVersion: Math.max(fromVersion, SCHEMA_VERSION) };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}
