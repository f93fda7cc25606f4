/**
 * The PostgreSQL schema of the store and its versioned migrations. Everything lives in one
 * PostgreSQL schema per store (default "refrain"); every table has a `hub` column leading its
 * keys, so several task hubs share a schema without seeing each other. The hot paths (creating,
 * leasing and committing) are PL/pgSQL functions so each costs one round trip, and each sends its
 * cross-process wake-ups with `pg_notify` inside the same transaction (delivered on commit).
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import { InvalidArgumentError, StoreCorruptError } from "../../core/errors.js";

/** One schema migration: SQL run once, in order, inside the migration transaction. */
export interface Migration {
  /** The schema version after this migration. */
  version: number;
  description: string;
  /** The SQL for a store in `schema` whose notifications go to `channel`. */
  sql(schema: string, channel: string): string;
}

const ACTIVE = "('Pending', 'Running', 'Suspended', 'ContinuedAsNew')";
const FN = "LANGUAGE plpgsql VOLATILE";

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
 * Helper functions. Notes are jsonb arrays of {kind, instanceId?, runtimeStatus?}: the function
 * returns them (for the calling process's own listeners) and `refrain_notify` sends each distinct
 * one, tagged with the hub and the calling store's origin, to the schema's channel.
 */
const HELPERS = (s: string, channel: string): string => `
  CREATE OR REPLACE FUNCTION ${s}.refrain_notify(p_hub text, p_origin text, p_notes jsonb) RETURNS jsonb ${FN} AS $$
  BEGIN
    PERFORM pg_notify('${channel}', (n.value || jsonb_build_object('hub', p_hub, 'origin', p_origin))::text)
      FROM (SELECT DISTINCT value FROM jsonb_array_elements(p_notes)) AS n;
    RETURN p_notes;
  END $$;

  CREATE OR REPLACE FUNCTION ${s}.refrain_work(p_instance_id text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('kind', 'orchestration-work', 'instanceId', p_instance_id)
  $$;

  CREATE OR REPLACE FUNCTION ${s}.refrain_delete_instance(p_hub text, p_id text) RETURNS void ${FN} AS $$
  BEGIN
    DELETE FROM ${s}.instances WHERE hub = p_hub AND instance_id = p_id;
    DELETE FROM ${s}.history WHERE hub = p_hub AND instance_id = p_id;
    DELETE FROM ${s}.inbox WHERE hub = p_hub AND instance_id = p_id;
    DELETE FROM ${s}.activity_tasks WHERE hub = p_hub AND instance_id = p_id;
  END $$;

  -- Makes sure the row exists (creating a Pending one) and holds a KEY SHARE lock on it, so that a
  -- concurrent idle purge cannot delete it before this transaction's message is in its inbox.
  CREATE OR REPLACE FUNCTION ${s}.refrain_ensure_instance(p_hub text, p_id text, p_target json, p_now bigint)
  RETURNS void ${FN} AS $$
  BEGIN
    LOOP
      PERFORM 1 FROM ${s}.instances WHERE hub = p_hub AND instance_id = p_id FOR KEY SHARE;
      IF FOUND THEN RETURN; END IF;
      INSERT INTO ${s}.instances (hub, instance_id, name, execution_id, runtime_status, created_at, last_updated_at)
        VALUES (p_hub, p_id, p_target->>'name', p_target->>'executionId', 'Pending', p_now, p_now)
        ON CONFLICT DO NOTHING;
      IF FOUND THEN RETURN; END IF;
    END LOOP;
  END $$;

  -- Replaces any row with a fresh Pending instance and queues its start message; returns notes.
  CREATE OR REPLACE FUNCTION ${s}.refrain_insert_instance(p_hub text, p_i json) RETURNS jsonb ${FN} AS $$
  BEGIN
    PERFORM ${s}.refrain_delete_instance(p_hub, p_i->>'instanceId');
    INSERT INTO ${s}.instances (hub, instance_id, name, execution_id, runtime_status, input, parent,
        created_at, last_updated_at)
      VALUES (p_hub, p_i->>'instanceId', p_i->>'name', p_i->>'executionId', 'Pending', p_i->>'input',
        p_i->>'parent', (p_i->>'createdAt')::bigint, (p_i->>'createdAt')::bigint);
    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      VALUES (p_hub, p_i->>'instanceId', p_i->>'executionId', p_i->>'started', (p_i->>'visibleAt')::bigint);
    RETURN jsonb_build_array(
      jsonb_build_object('kind', 'instance-updated', 'instanceId', p_i->>'instanceId', 'runtimeStatus', 'Pending'),
      ${s}.refrain_work(p_i->>'instanceId'));
  END $$;
`;

/** The entry points the store calls, one round trip each. */
const ENTRY_POINTS = (s: string): string => `
  -- createInstance. RF002 (message: status) when an active instance has the ID. With
  -- p_accept_same (a retry after an unknown outcome), a row with the same execution is success.
  CREATE OR REPLACE FUNCTION ${s}.refrain_create_instance(p_hub text, p_i json, p_accept_same boolean, p_origin text)
  RETURNS jsonb ${FN} AS $$
  DECLARE
    v_status text;
    v_exec text;
  BEGIN
    SELECT runtime_status, execution_id INTO v_status, v_exec FROM ${s}.instances
      WHERE hub = p_hub AND instance_id = p_i->>'instanceId' FOR UPDATE;
    IF FOUND AND p_accept_same AND v_exec = p_i->>'executionId' THEN
      RETURN jsonb_build_array(${s}.refrain_work(p_i->>'instanceId'));
    END IF;
    IF FOUND AND v_status IN ${ACTIVE} THEN
      RAISE EXCEPTION USING ERRCODE = 'RF002', MESSAGE = v_status;
    END IF;
    RETURN ${s}.refrain_notify(p_hub, p_origin, ${s}.refrain_insert_instance(p_hub, p_i));
  END $$;

  -- appendMessage. RF003 when there is no instance (a message with ensureTarget creates it); RF004 (message: status) when p_only_if_active
  -- and the instance is terminal; RF005 (message: status) when p_from is given and differs, else
  -- the status becomes p_to in the same transaction.
  CREATE OR REPLACE FUNCTION ${s}.refrain_append_message(p_hub text, p_m json, p_only_if_active boolean, p_origin text,
    p_from text, p_to text, p_now bigint) RETURNS jsonb ${FN} AS $$
  DECLARE
    v_status text;
    v_notes jsonb := jsonb_build_array(${s}.refrain_work(p_m->>'instanceId'));
  BEGIN
    IF p_m->'ensureTarget' IS NOT NULL THEN
      PERFORM ${s}.refrain_ensure_instance(p_hub, p_m->>'instanceId', p_m->'ensureTarget', p_now);
    END IF;
    SELECT runtime_status INTO v_status FROM ${s}.instances
      WHERE hub = p_hub AND instance_id = p_m->>'instanceId'
      FOR KEY SHARE;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'RF003', MESSAGE = 'instance not found';
    END IF;
    IF p_only_if_active AND v_status IN ('Completed', 'Failed', 'Terminated') THEN
      RAISE EXCEPTION USING ERRCODE = 'RF004', MESSAGE = v_status;
    END IF;
    IF p_from IS NOT NULL THEN
      -- Re-read under a row lock: the status may only change from the one we checked.
      SELECT runtime_status INTO v_status FROM ${s}.instances
        WHERE hub = p_hub AND instance_id = p_m->>'instanceId' FOR NO KEY UPDATE;
      IF v_status <> p_from THEN
        RAISE EXCEPTION USING ERRCODE = 'RF005', MESSAGE = v_status;
      END IF;
      UPDATE ${s}.instances SET runtime_status = p_to, last_updated_at = p_now
        WHERE hub = p_hub AND instance_id = p_m->>'instanceId';
      v_notes := v_notes || jsonb_build_object('kind', 'instance-updated', 'instanceId', p_m->>'instanceId',
        'runtimeStatus', p_to);
    END IF;
    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      VALUES (p_hub, p_m->>'instanceId', p_m->>'executionId', p_m->>'event', (p_m->>'visibleAt')::bigint);
    RETURN ${s}.refrain_notify(p_hub, p_origin, v_notes);
  END $$;

  -- leaseNextOrchestration. Locks the eligible instance with the oldest visible message (skipping
  -- rows other transactions hold), deletes older visible messages that have no instance row, then
  -- leases and reads in later statements, so history and messages are read after the lock.
  CREATE OR REPLACE FUNCTION ${s}.refrain_lease_orchestration(p_hub text, p_worker text, p_names text[], p_now bigint,
    p_expires bigint, p_token text) RETURNS json ${FN} AS $$
  DECLARE
    v_id text;
    v_visible bigint;
    v_message bigint;
    v_row ${s}.instances%ROWTYPE;
  BEGIN
    SELECT i.instance_id, m.visible_at, m.id INTO v_id, v_visible, v_message
      FROM ${s}.inbox m JOIN ${s}.instances i ON i.hub = m.hub AND i.instance_id = m.instance_id
      WHERE m.hub = p_hub AND m.visible_at <= p_now AND i.name = ANY (p_names)
        AND (i.lease_token IS NULL OR i.lease_expires_at <= p_now)
      ORDER BY m.visible_at, m.id LIMIT 1
      FOR NO KEY UPDATE OF i SKIP LOCKED;
    DELETE FROM ${s}.inbox m WHERE m.hub = p_hub AND m.visible_at <= p_now
      AND (v_id IS NULL OR (m.visible_at, m.id) < (v_visible, v_message))
      AND NOT EXISTS (SELECT 1 FROM ${s}.instances i WHERE i.hub = m.hub AND i.instance_id = m.instance_id);
    IF v_id IS NULL THEN
      RETURN NULL;
    END IF;
    UPDATE ${s}.instances SET lease_worker = p_worker, lease_token = p_token, lease_expires_at = p_expires
      WHERE hub = p_hub AND instance_id = v_id RETURNING * INTO v_row;
    RETURN json_build_object(
      'instance', row_to_json(v_row),
      'history', (SELECT COALESCE(json_agg(h.event ORDER BY h.seq), '[]') FROM ${s}.history h
        WHERE h.hub = p_hub AND h.instance_id = v_id AND h.execution_id = v_row.execution_id),
      'messages', (SELECT COALESCE(json_agg(m ORDER BY m.visible_at, m.id), '[]') FROM ${s}.inbox m
        WHERE m.hub = p_hub AND m.instance_id = v_id AND m.visible_at <= p_now));
  END $$;

  -- commitOrchestration: the fencing check and the whole checkpoint in one transaction. RF001 when
  -- the lease token no longer matches. A repeated history sequence number violates history's key.
  CREATE OR REPLACE FUNCTION ${s}.refrain_commit_orchestration(p_hub text, p_instance_id text, p_token text, p_cp json,
    p_now bigint, p_origin text) RETURNS jsonb ${FN} AS $$
  DECLARE
    v_u json := p_cp->'instance';
    v_exec text := p_cp->'instance'->>'executionId';
    v_status text;
    v_token text;
    v_seq integer := 0;
    v_count integer;
    v_notes jsonb := '[]';
    v_child json;
    v_existing text;
  BEGIN
    SELECT runtime_status, lease_token INTO v_status, v_token FROM ${s}.instances
      WHERE hub = p_hub AND instance_id = p_instance_id FOR NO KEY UPDATE;
    IF NOT FOUND OR v_token IS DISTINCT FROM p_token THEN
      RAISE EXCEPTION USING ERRCODE = 'RF001', MESSAGE = 'lease lost';
    END IF;
    IF p_cp->>'mode' = 'replace' THEN
      DELETE FROM ${s}.history WHERE hub = p_hub AND instance_id = p_instance_id;
    ELSE
      SELECT COALESCE(MAX(seq) + 1, 0) INTO v_seq FROM ${s}.history
        WHERE hub = p_hub AND instance_id = p_instance_id AND execution_id = v_exec;
    END IF;
    INSERT INTO ${s}.history (hub, instance_id, execution_id, seq, event)
      SELECT p_hub, p_instance_id, v_exec, v_seq + e.ord::integer - 1, e.value
      FROM json_array_elements_text(p_cp->'events') WITH ORDINALITY AS e(value, ord);
    DELETE FROM ${s}.inbox WHERE hub = p_hub AND instance_id = p_instance_id
      AND id IN (SELECT c::bigint FROM json_array_elements_text(p_cp->'consumed') AS c);
    UPDATE ${s}.instances SET execution_id = v_exec, runtime_status = v_u->>'runtimeStatus',
        input = CASE WHEN (v_u->>'hasInput')::boolean THEN v_u->>'input' ELSE input END,
        output = v_u->>'output', custom_status = v_u->>'customStatus', failure = v_u->>'failure',
        last_updated_at = (v_u->>'lastUpdatedAt')::bigint, completed_at = (v_u->>'completedAt')::bigint,
        lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE hub = p_hub AND instance_id = p_instance_id;
    IF v_status <> v_u->>'runtimeStatus' THEN
      v_notes := v_notes || jsonb_build_object('kind', 'instance-updated', 'instanceId', p_instance_id,
        'runtimeStatus', v_u->>'runtimeStatus');
    END IF;
    INSERT INTO ${s}.activity_tasks (hub, instance_id, execution_id, task_id, name, input, attempt, visible_at)
      SELECT p_hub, t.v->>'instanceId', t.v->>'executionId', (t.v->>'taskId')::integer, t.v->>'name',
        t.v->>'input', (t.v->>'attempt')::integer, p_now
      FROM json_array_elements(p_cp->'activities') WITH ORDINALITY AS t(v, ord) ORDER BY t.ord;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
      v_notes := v_notes || jsonb_build_object('kind', 'activity-work');
    END IF;
    PERFORM ${s}.refrain_ensure_instance(p_hub, t.id, t.target, p_now)
      FROM (SELECT DISTINCT ON (m.v->>'instanceId') m.v->>'instanceId' AS id, m.v->'ensureTarget' AS target
            FROM json_array_elements(p_cp->'messages') AS m(v) WHERE m.v->'ensureTarget' IS NOT NULL
            ORDER BY m.v->>'instanceId') AS t;
    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      SELECT p_hub, m.v->>'instanceId', m.v->>'executionId', m.v->>'event', (m.v->>'visibleAt')::bigint
      FROM json_array_elements(p_cp->'messages') WITH ORDINALITY AS m(v, ord) ORDER BY m.ord;
    v_notes := v_notes || COALESCE((SELECT jsonb_agg(DISTINCT ${s}.refrain_work(m.v->>'instanceId'))
      FROM json_array_elements(p_cp->'messages') AS m(v)), '[]');
    FOR v_child IN SELECT c FROM json_array_elements(p_cp->'children') AS c LOOP
      SELECT runtime_status INTO v_existing FROM ${s}.instances
        WHERE hub = p_hub AND instance_id = v_child->>'instanceId' FOR UPDATE;
      IF FOUND AND v_existing IN ${ACTIVE} THEN
        IF v_child->'conflictReply' IS NOT NULL THEN
          INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
            VALUES (p_hub, v_child->'conflictReply'->>'instanceId', v_child->'conflictReply'->>'executionId',
              v_child->'conflictReply'->>'event', (v_child->'conflictReply'->>'visibleAt')::bigint);
          v_notes := v_notes || ${s}.refrain_work(v_child->'conflictReply'->>'instanceId');
        END IF;
      ELSE
        v_notes := v_notes || ${s}.refrain_insert_instance(p_hub, v_child);
      END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM ${s}.inbox WHERE hub = p_hub AND instance_id = p_instance_id) THEN
      v_notes := v_notes || ${s}.refrain_work(p_instance_id);
    END IF;
    RETURN ${s}.refrain_notify(p_hub, p_origin, v_notes);
  END $$;

  -- purgeInstances with idleOnly: deletes each terminal instance with no live lease and no inbox
  -- message. The row lock comes first and the inbox is read after it (a later statement, so a
  -- fresh snapshot): a writer that locked the row to add a message has committed by then, and the
  -- next one waits for this transaction and then finds no row (and creates a new one).
  CREATE OR REPLACE FUNCTION ${s}.refrain_purge_idle(p_hub text, p_ids text[], p_now bigint)
  RETURNS integer ${FN} AS $$
  DECLARE
    v_id text;
    v_count integer := 0;
  BEGIN
    FOREACH v_id IN ARRAY p_ids LOOP
      PERFORM 1 FROM ${s}.instances WHERE hub = p_hub AND instance_id = v_id
        AND runtime_status IN ('Completed', 'Failed', 'Terminated')
        AND (lease_token IS NULL OR lease_expires_at <= p_now)
        FOR UPDATE;
      CONTINUE WHEN NOT FOUND;
      CONTINUE WHEN EXISTS (SELECT 1 FROM ${s}.inbox WHERE hub = p_hub AND instance_id = v_id);
      PERFORM ${s}.refrain_delete_instance(p_hub, v_id);
      v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
  END $$;
`;

/** The current version of every store function (all `CREATE OR REPLACE`). */
const FUNCTIONS = (s: string, channel: string): string => HELPERS(s, channel) + ENTRY_POINTS(s);

/**
 * Every migration in order; the last one's version is the schema version this code writes. A
 * migration that changes functions runs `FUNCTIONS` again: it always installs the current ones,
 * so a schema at any version ends with the functions of this code.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "instances, history, inbox, activity tasks and the store functions",
    sql: (s, channel) => TABLES(s) + FUNCTIONS(s, channel),
  },
  {
    version: 2,
    description: "entities: messages that create their target, idle purge",
    sql: (s, channel) => FUNCTIONS(s, channel),
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
