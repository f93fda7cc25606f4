/**
 * The PL/pgSQL functions of the PostgreSQL store, in their current version (every one
 * `CREATE OR REPLACE`, installed by the migrations of schema.ts). The hot paths (creating,
 * leasing and committing, in batches) are functions so each costs one round trip, and each sends
 * its cross-process wake-ups with `pg_notify` inside the same transaction (delivered on commit).
 * Leases are committed with `synchronous_commit = off`: a lease lost in a crash only has to
 * expire, and every commit is fenced by its token.
 */

const ACTIVE = "('Pending', 'Running', 'Suspended', 'ContinuedAsNew')";
const FN = "LANGUAGE plpgsql VOLATILE";

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

  -- leaseOrchestrations. Up to p_max times: locks the eligible instance with the oldest visible
  -- message (skipping rows other transactions hold), leases it, then reads its messages and its
  -- history length in later statements (after the lock). Deletes visible messages older than the
  -- first leased one that have no instance row. Returns a JSON array of
  -- {token, instance, historyLength, messages}; the caller reads the histories it lacks.
  CREATE OR REPLACE FUNCTION ${s}.refrain_lease_orchestrations(p_hub text, p_worker text, p_names text[],
    p_now bigint, p_expires bigint, p_max integer) RETURNS json ${FN} AS $$
  DECLARE
    v_id text;
    v_visible bigint;
    v_message bigint;
    v_first_visible bigint;
    v_first_message bigint;
    v_token text;
    v_row ${s}.instances%ROWTYPE;
    v_items json[] := '{}';
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    FOR v_n IN 1..p_max LOOP
      SELECT i.instance_id, m.visible_at, m.id INTO v_id, v_visible, v_message
        FROM ${s}.inbox m JOIN ${s}.instances i ON i.hub = m.hub AND i.instance_id = m.instance_id
        WHERE m.hub = p_hub AND m.visible_at <= p_now AND i.name = ANY (p_names)
          AND (i.lease_token IS NULL OR i.lease_expires_at <= p_now)
        ORDER BY m.visible_at, m.id LIMIT 1
        FOR NO KEY UPDATE OF i SKIP LOCKED;
      EXIT WHEN NOT FOUND;
      IF v_first_visible IS NULL THEN
        v_first_visible := v_visible;
        v_first_message := v_message;
      END IF;
      v_token := gen_random_uuid()::text;
      UPDATE ${s}.instances SET lease_worker = p_worker, lease_token = v_token, lease_expires_at = p_expires
        WHERE hub = p_hub AND instance_id = v_id RETURNING * INTO v_row;
      v_items := v_items || json_build_object(
        'token', v_token,
        'instance', row_to_json(v_row),
        'historyLength', (SELECT COALESCE(MAX(h.seq) + 1, 0) FROM ${s}.history h
          WHERE h.hub = p_hub AND h.instance_id = v_id AND h.execution_id = v_row.execution_id),
        'messages', (SELECT COALESCE(json_agg(m ORDER BY m.visible_at, m.id), '[]') FROM ${s}.inbox m
          WHERE m.hub = p_hub AND m.instance_id = v_id AND m.visible_at <= p_now));
    END LOOP;
    DELETE FROM ${s}.inbox m WHERE m.hub = p_hub AND m.visible_at <= p_now
      AND (v_first_visible IS NULL OR (m.visible_at, m.id) < (v_first_visible, v_first_message))
      AND NOT EXISTS (SELECT 1 FROM ${s}.instances i WHERE i.hub = m.hub AND i.instance_id = m.instance_id);
    RETURN array_to_json(v_items);
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

  -- completeActivities: for each {id, token, event}, deletes the task if the token still holds it
  -- and queues the event for its instance. Returns {lost: [indexes], notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_complete_activities(p_hub text, p_items json, p_now bigint,
    p_origin text) RETURNS json ${FN} AS $$
  DECLARE
    v_item json;
    v_ord integer := 0;
    v_instance text;
    v_exec text;
    v_lost integer[] := '{}';
    v_notes jsonb := '[]';
  BEGIN
    FOR v_item IN SELECT value FROM json_array_elements(p_items) LOOP
      DELETE FROM ${s}.activity_tasks WHERE hub = p_hub AND id = (v_item->>'id')::bigint
        AND lease_token = v_item->>'token' RETURNING instance_id, execution_id INTO v_instance, v_exec;
      IF FOUND THEN
        INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
          VALUES (p_hub, v_instance, v_exec, v_item->>'event', p_now);
        v_notes := v_notes || ${s}.refrain_work(v_instance);
      ELSE
        v_lost := v_lost || v_ord;
      END IF;
      v_ord := v_ord + 1;
    END LOOP;
    RETURN json_build_object('lost', to_json(v_lost), 'notes', ${s}.refrain_notify(p_hub, p_origin, v_notes));
  END $$;

  -- One checkpoint: the fencing check, then the whole checkpoint. Returns its notes, or NULL (having
  -- changed nothing) when the lease token no longer matches. A repeated history sequence number
  -- violates history's key.
  CREATE OR REPLACE FUNCTION ${s}.refrain_apply_checkpoint(p_hub text, p_instance_id text, p_token text, p_cp json,
    p_now bigint) RETURNS jsonb ${FN} AS $$
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
      RETURN NULL;
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
    RETURN v_notes;
  END $$;

  -- commitOrchestration: one checkpoint in one transaction; RF001 when the lease is lost.
  CREATE OR REPLACE FUNCTION ${s}.refrain_commit_orchestration(p_hub text, p_instance_id text, p_token text, p_cp json,
    p_now bigint, p_origin text) RETURNS jsonb ${FN} AS $$
  DECLARE
    v_notes jsonb := ${s}.refrain_apply_checkpoint(p_hub, p_instance_id, p_token, p_cp, p_now);
  BEGIN
    IF v_notes IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'RF001', MESSAGE = 'lease lost';
    END IF;
    RETURN ${s}.refrain_notify(p_hub, p_origin, v_notes);
  END $$;

  -- commitOrchestrations: several {instanceId, token, checkpoint} in one transaction; a lost lease
  -- skips its own checkpoint. Returns {lost: [indexes], notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_commit_orchestrations(p_hub text, p_items json, p_now bigint,
    p_origin text) RETURNS json ${FN} AS $$
  DECLARE
    v_item json;
    v_ord integer := 0;
    v_one jsonb;
    v_lost integer[] := '{}';
    v_notes jsonb := '[]';
  BEGIN
    FOR v_item IN SELECT value FROM json_array_elements(p_items) LOOP
      v_one := ${s}.refrain_apply_checkpoint(p_hub, v_item->>'instanceId', v_item->>'token', v_item->'checkpoint', p_now);
      IF v_one IS NULL THEN
        v_lost := v_lost || v_ord;
      ELSE
        v_notes := v_notes || v_one;
      END IF;
      v_ord := v_ord + 1;
    END LOOP;
    RETURN json_build_object('lost', to_json(v_lost), 'notes', ${s}.refrain_notify(p_hub, p_origin, v_notes));
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
  return HELPERS(s, channel) + ENTRY_POINTS(s);
}
