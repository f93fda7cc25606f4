/**
 * The PL/pgSQL functions of the PostgreSQL store, in their current version (every one
 * `CREATE OR REPLACE`, installed by the migrations of schema.ts). The hot paths (creating,
 * leasing and committing, in batches) are functions so each costs one round trip, and each sends
 * its cross-process wake-ups with `pg_notify` inside the same transaction (delivered on commit).
 * Leases are committed with `synchronous_commit = off`: a lease lost in a crash only has to
 * expire, and every commit is fenced by its token. The checkpoint functions are in
 * checkpoint-functions.ts.
 */

import { checkpointFunctions } from "./checkpoint-functions.js";
import { ACTIVE, FN, M_KIND } from "./plpgsql.js";
import {
  flatNotes,
  mergeClaimed,
  plainCheckpoint,
  SET_MIN_ITEMS,
  setCheckpointFunctions,
} from "./set-checkpoints.js";

/**
 * How long `refrain_append_message` keeps a call's key (ms): far longer than the store's own
 * retries of one call take (five, at most a second apart, each waiting at most
 * `connectionTimeoutMillis` for a connection).
 */
export const MESSAGE_KEY_RETENTION_MS = 3_600_000;

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

  -- The work note of a message visible from p_visible_at: it carries that time when it is after p_now.
  CREATE OR REPLACE FUNCTION ${s}.refrain_work(p_instance_id text, p_visible_at bigint, p_now bigint)
  RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_visible_at > p_now
      THEN ${s}.refrain_work(p_instance_id) || jsonb_build_object('visibleAt', p_visible_at)
      ELSE ${s}.refrain_work(p_instance_id) END
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
  CREATE OR REPLACE FUNCTION ${s}.refrain_ensure_instance(p_hub text, p_id text, p_target jsonb, p_now bigint)
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

  -- Locks the rows of the given instance IDs (in ID order, so concurrent batches cannot deadlock)
  -- and returns {id: [runtimeStatus, executionId]} for those that exist. One statement, so a
  -- batch costs one scan however the planner reads a young table.
  CREATE OR REPLACE FUNCTION ${s}.refrain_lock_instances(p_hub text, p_ids text[]) RETURNS jsonb ${FN} AS $$
  BEGIN
    RETURN COALESCE((SELECT jsonb_object_agg(r.instance_id, jsonb_build_array(r.runtime_status, r.execution_id))
      FROM (SELECT instance_id, runtime_status, execution_id FROM ${s}.instances
              WHERE hub = p_hub AND instance_id = ANY (p_ids) ORDER BY instance_id FOR UPDATE) AS r), '{}');
  END $$;

  -- Creates fresh Pending instances (distinct IDs, rows locked by refrain_lock_instances) and
  -- queues their start messages, set-based; p_replace are those of them whose terminal row is
  -- replaced. Messages that arrived before an instance are dropped, as is everything of a replaced
  -- one. Returns notes: each instance is Pending, and one with a start message has work (one with
  -- a firstStep has none: the caller commits that step in the same transaction).
  CREATE OR REPLACE FUNCTION ${s}.refrain_insert_instances(p_hub text, p_items jsonb[], p_replace text[])
  RETURNS jsonb ${FN} AS $$
  BEGIN
    IF cardinality(p_items) = 0 THEN
      RETURN '[]';
    END IF;
    IF cardinality(p_replace) > 0 THEN
      DELETE FROM ${s}.instances WHERE hub = p_hub AND instance_id = ANY (p_replace);
      DELETE FROM ${s}.history WHERE hub = p_hub AND instance_id = ANY (p_replace);
      DELETE FROM ${s}.activity_tasks WHERE hub = p_hub AND instance_id = ANY (p_replace);
    END IF;
    DELETE FROM ${s}.inbox WHERE hub = p_hub
      AND instance_id = ANY (ARRAY(SELECT i->>'instanceId' FROM unnest(p_items) AS i));
    INSERT INTO ${s}.instances (hub, instance_id, name, execution_id, runtime_status, input, parent,
        created_at, last_updated_at)
      SELECT p_hub, i->>'instanceId', i->>'name', i->>'executionId', 'Pending', i->>'input', i->>'parent',
        (i->>'createdAt')::bigint, (i->>'createdAt')::bigint
      FROM unnest(p_items) WITH ORDINALITY AS t(i, ord) ORDER BY ord;
    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      SELECT p_hub, i->>'instanceId', i->>'executionId', i->>'started', (i->>'visibleAt')::bigint
      FROM unnest(p_items) WITH ORDINALITY AS t(i, ord) WHERE NOT (i ? 'firstStep') ORDER BY ord;
    RETURN (SELECT jsonb_agg(n) FROM (
      SELECT jsonb_build_object('kind', 'instance-updated', 'instanceId', i->>'instanceId', 'runtimeStatus', 'Pending') AS n
        FROM unnest(p_items) AS i
      UNION ALL SELECT ${s}.refrain_work(i->>'instanceId', (i->>'visibleAt')::bigint, (i->>'createdAt')::bigint)
        FROM unnest(p_items) AS i WHERE NOT (i ? 'firstStep'))
      AS notes);
  END $$;

  -- Whether some instance ID occurs twice among p_items (then a later one must see the earlier).
  CREATE OR REPLACE FUNCTION ${s}.refrain_has_duplicates(p_items jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT count(*) <> count(DISTINCT value->>'instanceId') FROM jsonb_array_elements(p_items)
  $$;
`;

/** The entry points the store calls, one round trip each. */
const ENTRY_POINTS = (s: string): string => `
  -- createInstances: creates each {instance} of p_items in order. An item whose ID an active
  -- instance holds is refused: its index and that status are returned in conflicts. With
  -- p_accept_same (a retry after an unknown outcome), a row with the item's execution is success.
  -- An item with a firstStep (a checkpoint) gets no start message: the step is committed instead,
  -- claiming new tasks as p_claim allows (see refrain_commit_orchestrations).
  -- Returns {conflicts: [{index, status}], claimed: {index: [task rows]}, notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_create_instances(p_hub text, p_items jsonb, p_accept_same boolean,
    p_origin text, p_now bigint, p_claim jsonb) RETURNS json ${FN} AS $$
  DECLARE
    v_rows jsonb := ${s}.refrain_lock_instances(p_hub,
      ARRAY(SELECT value->>'instanceId' FROM jsonb_array_elements(p_items)));
    v_duplicates boolean := ${s}.refrain_has_duplicates(p_items);
    v_item jsonb;
    v_row jsonb;
    v_ord integer := 0;
    v_conflicts json[] := '{}';
    v_new jsonb[] := '{}';
    v_stepped integer[] := '{}';
    v_replace text[] := '{}';
    v_known text[] := '{}';
    v_notes jsonb[];
    v_one jsonb;
    v_claim jsonb := p_claim;
    v_claimed jsonb[] := '{}';
    v_set jsonb;
    v_applied integer[] := '{}';
  BEGIN
    FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
      v_row := v_rows->(v_item->>'instanceId');
      IF v_row IS NOT NULL AND p_accept_same AND v_row->>1 = v_item->>'executionId' THEN
        v_known := v_known || (v_item->>'instanceId');
      ELSIF v_row IS NOT NULL AND v_row->>0 IN ${ACTIVE} THEN
        v_conflicts := v_conflicts || json_build_object('index', v_ord, 'status', v_row->>0);
      ELSE
        IF v_row IS NOT NULL THEN
          v_replace := v_replace || (v_item->>'instanceId');
        END IF;
        v_new := v_new || v_item;
        IF v_item ? 'firstStep' THEN
          v_stepped := v_stepped || v_ord;
        END IF;
        IF v_duplicates THEN
          v_rows := v_rows || jsonb_build_object(v_item->>'instanceId', jsonb_build_array('Pending', v_item->>'executionId'));
        END IF;
      END IF;
      v_ord := v_ord + 1;
    END LOOP;
    v_notes := ARRAY[${s}.refrain_insert_instances(p_hub, v_new, v_replace),
      COALESCE((SELECT jsonb_agg(${s}.refrain_work(id)) FROM unnest(v_known) AS id), '[]')];
    -- Plain first steps set-based (when no ID repeats: a repeated one must see the earlier).
    IF NOT v_duplicates AND cardinality(v_stepped) >= ${SET_MIN_ITEMS} THEN
      v_set := ${s}.refrain_apply_checkpoints(p_hub, (SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', o,
          'instanceId', p_items->o->>'instanceId', 'src', o,
          'expect', jsonb_build_object('executionId', p_items->o->>'executionId', 'runtimeStatus', 'Pending',
            'historyLength', 0))), '[]')
        FROM unnest(v_stepped) AS o WHERE ${plainCheckpoint("p_items->o->'firstStep'")}), p_items, '{firstStep}',
        p_now, v_claim);
      v_applied := ARRAY(SELECT jsonb_array_elements_text(v_set->'applied')::integer);
      v_notes := v_notes || (v_set->'notes');
      v_claimed := v_claimed || (v_set->'claimed');
      v_claim := ${s}.refrain_spend_claim(v_claim, (v_set->>'claimedCount')::integer);
    END IF;
    FOREACH v_ord IN ARRAY v_stepped LOOP
      CONTINUE WHEN v_ord = ANY (v_applied);
      v_item := p_items->v_ord;
      v_one := ${s}.refrain_apply_checkpoint(p_hub, v_item->>'instanceId', NULL, v_item->'firstStep', p_now, v_claim,
        jsonb_build_object('executionId', v_item->>'executionId', 'runtimeStatus', 'Pending', 'historyLength', 0));
      IF v_one IS NULL THEN
        RAISE EXCEPTION 'the first step of % could not be committed', v_item->>'instanceId';
      END IF;
      v_notes := v_notes || (v_one->'notes');
      v_claimed := v_claimed || ${s}.refrain_claimed_at(v_ord, v_one->'claimed');
      v_claim := ${s}.refrain_spend_claim(v_claim, jsonb_array_length(v_one->'claimed'));
    END LOOP;
    RETURN json_build_object('conflicts', array_to_json(v_conflicts), 'claimed', ${mergeClaimed("v_claimed")},
      'notes', ${s}.refrain_notify(p_hub, p_origin, ${flatNotes("v_notes")}));
  END $$;

  -- appendMessage. RF003 when there is no instance (a message with ensureTarget creates it); RF004 (message: status) when p_only_if_active
  -- and the instance is terminal; RF005 (message: status) when p_from is given and differs, else
  -- the status becomes p_to in the same transaction. p_key, unique per call and the same on its
  -- retries, is kept for MESSAGE_KEY_RETENTION_MS: a retry whose earlier attempt committed (the
  -- reply was lost with the connection) finds it and changes nothing, so the message is added once.
  CREATE OR REPLACE FUNCTION ${s}.refrain_append_message(p_hub text, p_m json, p_only_if_active boolean, p_origin text,
    p_from text, p_to text, p_now bigint, p_key text) RETURNS jsonb ${FN} AS $$
  DECLARE
    v_status text;
    v_notes jsonb := jsonb_build_array(${s}.refrain_work(p_m->>'instanceId', (p_m->>'visibleAt')::bigint, p_now));
  BEGIN
    IF p_to IS NOT NULL THEN
      v_notes := v_notes || jsonb_build_object('kind', 'instance-updated', 'instanceId', p_m->>'instanceId',
        'runtimeStatus', p_to);
    END IF;
    INSERT INTO ${s}.message_keys (hub, key, created_at) VALUES (p_hub, p_key, p_now) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      -- Done by an earlier attempt of this call: tell the listeners again, change nothing.
      RETURN ${s}.refrain_notify(p_hub, p_origin, v_notes);
    END IF;
    DELETE FROM ${s}.message_keys WHERE hub = p_hub AND created_at < p_now - ${MESSAGE_KEY_RETENTION_MS};
    IF p_m->'ensureTarget' IS NOT NULL THEN
      PERFORM ${s}.refrain_ensure_instance(p_hub, p_m->>'instanceId', (p_m->'ensureTarget')::jsonb, p_now);
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
    END IF;
    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      VALUES (p_hub, p_m->>'instanceId', p_m->>'executionId', p_m->>'event', (p_m->>'visibleAt')::bigint);
    RETURN ${s}.refrain_notify(p_hub, p_origin, v_notes);
  END $$;

  -- appendMessage for several calls at once: p_items is [{m, onlyIfActive, from, to, key}], each
  -- checked and written as refrain_append_message would, in order, in one transaction. A call that
  -- is refused changes nothing (its key is removed again, so a retry is refused the same way) and
  -- is listed in refused as {index, code, status} with refrain_append_message's SQLSTATE.
  CREATE OR REPLACE FUNCTION ${s}.refrain_append_messages(p_hub text, p_items jsonb, p_origin text, p_now bigint)
  RETURNS jsonb ${FN} AS $$
  DECLARE
    v_item jsonb;
    v_index integer;
    v_m jsonb;
    v_id text;
    v_status text;
    v_code text;
    v_notes jsonb[] := '{}';
    v_note jsonb;
    v_refused jsonb[] := '{}';
  BEGIN
    FOR v_item, v_index IN SELECT t.v, (t.ord - 1)::integer FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(v, ord) LOOP
      v_m := v_item->'m';
      v_id := v_m->>'instanceId';
      v_note := ${s}.refrain_work(v_id, (v_m->>'visibleAt')::bigint, p_now);
      IF v_item->>'to' IS NOT NULL THEN
        v_note := jsonb_build_array(v_note, jsonb_build_object('kind', 'instance-updated', 'instanceId', v_id,
          'runtimeStatus', v_item->>'to'));
      END IF;
      INSERT INTO ${s}.message_keys (hub, key, created_at) VALUES (p_hub, v_item->>'key', p_now) ON CONFLICT DO NOTHING;
      IF NOT FOUND THEN
        v_notes := v_notes || v_note; -- done by an earlier attempt of this call
        CONTINUE;
      END IF;
      IF v_m->'ensureTarget' IS NOT NULL THEN
        PERFORM ${s}.refrain_ensure_instance(p_hub, v_id, v_m->'ensureTarget', p_now);
      END IF;
      v_code := NULL;
      SELECT runtime_status INTO v_status FROM ${s}.instances WHERE hub = p_hub AND instance_id = v_id FOR KEY SHARE;
      IF NOT FOUND THEN
        v_code := 'RF003';
      ELSIF (v_item->>'onlyIfActive')::boolean AND v_status IN ('Completed', 'Failed', 'Terminated') THEN
        v_code := 'RF004';
      ELSIF v_item->>'from' IS NOT NULL THEN
        SELECT runtime_status INTO v_status FROM ${s}.instances
          WHERE hub = p_hub AND instance_id = v_id FOR NO KEY UPDATE;
        IF v_status <> v_item->>'from' THEN
          v_code := 'RF005';
        ELSE
          UPDATE ${s}.instances SET runtime_status = v_item->>'to', last_updated_at = p_now
            WHERE hub = p_hub AND instance_id = v_id;
        END IF;
      END IF;
      IF v_code IS NOT NULL THEN
        v_refused := v_refused || jsonb_build_object('index', v_index, 'code', v_code, 'status', v_status);
        DELETE FROM ${s}.message_keys WHERE hub = p_hub AND key = v_item->>'key';
        CONTINUE;
      END IF;
      INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
        VALUES (p_hub, v_id, v_m->>'executionId', v_m->>'event', (v_m->>'visibleAt')::bigint);
      v_notes := v_notes || v_note;
    END LOOP;
    DELETE FROM ${s}.message_keys WHERE hub = p_hub AND created_at < p_now - ${MESSAGE_KEY_RETENTION_MS};
    RETURN jsonb_build_object('refused', to_jsonb(v_refused),
      'notes', ${s}.refrain_notify(p_hub, p_origin, ${flatNotes("v_notes")}));
  END $$;

  -- leaseOrchestrations. Locks up to p_max eligible instances, oldest visible message first
  -- (skipping rows other transactions hold), leases them, then reads their messages and history
  -- lengths in later statements (after the locks). A message counts as visible when it is by
  -- p_visible_by (later than p_now when leasing ahead); a lease is live or not at p_now. Deletes
  -- messages visible now and older than the first leased one that have no instance row.
  -- p_entities (true, false, or NULL for both) says which kind of instance the names can match:
  -- the walk then reads only that kind's part of the inbox. Returns a JSON array of
  -- {token, instance, historyLength, messages}; the caller reads the histories it lacks.
  CREATE OR REPLACE FUNCTION ${s}.refrain_lease_orchestrations(p_hub text, p_worker text, p_names text[],
    p_entities boolean, p_now bigint, p_visible_by bigint, p_expires bigint, p_max integer)
    RETURNS json ${FN} AS $$
  DECLARE
    v_heads refcursor;
    v_head record;
    v_ids text[] := '{}';
    v_first_visible bigint;
    v_first_message bigint;
    v_items json;
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    -- The visible messages in order, read through an index as far as needed (no sort of the
    -- whole queue); an instance's first message seen is its oldest. Each instance is then locked
    -- (if eligible and nobody else holds it) by its primary key.
    IF p_entities IS NULL THEN
      OPEN v_heads FOR SELECT m.instance_id, m.visible_at, m.id FROM ${s}.inbox m
        WHERE m.hub = p_hub AND m.visible_at <= p_visible_by ORDER BY m.visible_at, m.id;
    ELSE
      OPEN v_heads FOR SELECT m.instance_id, m.visible_at, m.id FROM ${s}.inbox m
        WHERE m.hub = p_hub AND ${M_KIND} = p_entities AND m.visible_at <= p_visible_by
        ORDER BY m.visible_at, m.id;
    END IF;
    LOOP
      FETCH v_heads INTO v_head;
      EXIT WHEN NOT FOUND;
      CONTINUE WHEN v_head.instance_id = ANY (v_ids);
      PERFORM 1 FROM ${s}.instances i
        WHERE i.hub = p_hub AND i.instance_id = v_head.instance_id AND i.name = ANY (p_names)
          AND (i.lease_token IS NULL OR i.lease_expires_at <= p_now)
        FOR NO KEY UPDATE SKIP LOCKED;
      CONTINUE WHEN NOT FOUND;
      IF cardinality(v_ids) = 0 THEN
        v_first_visible := v_head.visible_at;
        v_first_message := v_head.id;
      END IF;
      v_ids := v_ids || v_head.instance_id::text;
      EXIT WHEN cardinality(v_ids) >= p_max;
    END LOOP;
    CLOSE v_heads;
    DELETE FROM ${s}.inbox m WHERE m.hub = p_hub AND m.visible_at <= p_now
      AND (v_first_visible IS NULL OR (m.visible_at, m.id) < (v_first_visible, v_first_message))
      AND NOT EXISTS (SELECT 1 FROM ${s}.instances i WHERE i.hub = m.hub AND i.instance_id = m.instance_id);
    -- A step that committed between the heads' snapshot and the lock may have consumed the messages
    -- (its commit released the row): with the locks held, a fresh statement keeps only instances
    -- that still have a visible message.
    v_ids := ARRAY(SELECT u.id FROM unnest(v_ids) WITH ORDINALITY AS u(id, ord) WHERE EXISTS (
      SELECT 1 FROM ${s}.inbox m WHERE m.hub = p_hub AND m.instance_id = u.id AND m.visible_at <= p_visible_by)
      ORDER BY u.ord);
    IF cardinality(v_ids) = 0 THEN
      RETURN '[]';
    END IF;
    UPDATE ${s}.instances SET lease_worker = p_worker, lease_token = gen_random_uuid()::text,
        lease_expires_at = p_expires
      WHERE hub = p_hub AND instance_id = ANY (v_ids);
    SELECT json_agg(json_build_object(
        'token', i.lease_token,
        'instance', row_to_json(i),
        'historyLength', (SELECT COALESCE(MAX(h.seq) + 1, 0) FROM ${s}.history h
          WHERE h.hub = p_hub AND h.instance_id = i.instance_id AND h.execution_id = i.execution_id),
        'messages', (SELECT COALESCE(json_agg(m ORDER BY m.visible_at, m.id), '[]') FROM ${s}.inbox m
          WHERE m.hub = p_hub AND m.instance_id = i.instance_id AND m.visible_at <= p_visible_by))
      ORDER BY array_position(v_ids, i.instance_id::text))
      INTO v_items
      FROM ${s}.instances i WHERE i.hub = p_hub AND i.instance_id = ANY (v_ids);
    RETURN v_items;
  END $$;

  -- leaseActivities: up to p_max visible tasks without a live lease, oldest first.
  CREATE OR REPLACE FUNCTION ${s}.refrain_lease_activities(p_hub text, p_worker text, p_names text[],
    p_now bigint, p_expires bigint, p_max integer) RETURNS SETOF ${s}.activity_tasks ${FN} AS $$
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
      WITH candidate AS (
        SELECT id FROM ${s}.activity_tasks
        WHERE hub = p_hub AND visible_at <= p_now AND (lease_token IS NULL OR lease_expires_at <= p_now)
          AND name = ANY (p_names)
        ORDER BY visible_at, id LIMIT p_max FOR NO KEY UPDATE SKIP LOCKED)
      UPDATE ${s}.activity_tasks t SET lease_worker = p_worker, lease_token = gen_random_uuid()::text,
        lease_expires_at = p_expires, delivery_count = t.delivery_count + 1
      FROM candidate WHERE t.hub = p_hub AND t.id = candidate.id RETURNING t.*;
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

/** Every function of the store against schema `s` (a quoted identifier) notifying `channel`. */
export function storeFunctions(s: string, channel: string): string {
  return HELPERS(s, channel) + ENTRY_POINTS(s) + checkpointFunctions(s) + setCheckpointFunctions(s);
}
