/**
 * The PL/pgSQL functions that write checkpoints (part of the store's functions, see
 * functions.ts): one checkpoint fenced by a lease or checked against the state a step computed
 * ahead assumed, batches of checkpoints, and batches of activity completions that may carry the
 * step that follows them. Each batch is one round trip and one transaction.
 */
import { ACTIVE, FN } from "./plpgsql.js";
import {
  commitPlainSetBased,
  flatNotes,
  insertChosenTasks,
  mergeClaimed,
  plainCheckpoint,
  SET_MIN_ITEMS,
} from "./set-checkpoints.js";

/** The checkpoint functions against schema `s` (a quoted identifier). */
export function checkpointFunctions(s: string): string {
  return `
  -- The claim left after p_count of its tasks were claimed (NULL stays NULL).
  CREATE OR REPLACE FUNCTION ${s}.refrain_spend_claim(p_claim jsonb, p_count integer) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_claim IS NULL OR p_count = 0 THEN p_claim
      ELSE jsonb_set(p_claim, '{max}', to_jsonb((p_claim->>'max')::integer - p_count)) END
  $$;

  -- {"<p_ord>": p_rows} to merge into a batch's claimed tasks by item index; {} for no rows.
  CREATE OR REPLACE FUNCTION ${s}.refrain_claimed_at(p_ord integer, p_rows jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_array_length(p_rows) = 0 THEN '{}'::jsonb
      ELSE jsonb_build_object(p_ord::text, p_rows) END
  $$;

  -- completeActivities: for each {id, token, event, step?}, deletes the task if the token still
  -- holds it; then commits the item's following step in the result's place when the instance is
  -- exactly as the step assumed (see refrain_apply_checkpoint's p_expect), else queues the event
  -- for the instance. p_claim as in refrain_commit_orchestrations. In a batch of SET_MIN_ITEMS or
  -- more, the tasks are taken in one statement and the plain steps of instances that occur once in
  -- the batch are committed set-based (refrain_apply_checkpoints); the other items go one by one,
  -- in order.
  -- Returns {lost: [indexes], stepped: [indexes], claimed: {index: [task rows]}, notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_complete_activities(p_hub text, p_items jsonb, p_now bigint,
    p_origin text, p_claim jsonb) RETURNS json ${FN} AS $$
  DECLARE
    v_taken jsonb;
    v_step jsonb;
    v_ord integer;
    v_instance text;
    v_exec text;
    v_small_notes jsonb;
    v_small_claimed jsonb;
    v_set_items jsonb;
    v_use_set boolean;
    v_set jsonb;
    v_applied integer[];
    v_item jsonb;
    v_one jsonb;
    v_claim jsonb := p_claim;
    v_lost integer[];
    v_stepped integer[];
    v_claimed jsonb[];
    v_notes jsonb[];
  BEGIN
    IF jsonb_array_length(p_items) < ${SET_MIN_ITEMS} THEN
      -- A small batch (a workflow's sequential steps) goes item by item: the set-based way's extra
      -- statements would cost more than they save.
      v_ord := 0;
      v_lost := '{}';
      v_stepped := '{}';
      v_small_notes := '[]';
      v_small_claimed := '{}';
      FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        DELETE FROM ${s}.activity_tasks WHERE hub = p_hub AND id = (v_item->>'id')::bigint
          AND lease_token = v_item->>'token' RETURNING instance_id, execution_id INTO v_instance, v_exec;
        IF NOT FOUND THEN
          v_lost := v_lost || v_ord;
        ELSE
          v_one := NULL;
          IF jsonb_typeof(v_item->'step') = 'object' THEN
            v_one := ${s}.refrain_apply_checkpoint(p_hub, v_instance, NULL, v_item->'step'->'checkpoint', p_now,
              v_claim, v_item->'step');
          END IF;
          IF v_one IS NOT NULL THEN
            v_stepped := v_stepped || v_ord;
            v_small_notes := v_small_notes || (v_one->'notes');
            v_small_claimed := v_small_claimed || ${s}.refrain_claimed_at(v_ord, v_one->'claimed');
            v_claim := ${s}.refrain_spend_claim(v_claim, jsonb_array_length(v_one->'claimed'));
          ELSE
            INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
              VALUES (p_hub, v_instance, v_exec, v_item->>'event', p_now);
            v_small_notes := v_small_notes || ${s}.refrain_work(v_instance);
          END IF;
        END IF;
        v_ord := v_ord + 1;
      END LOOP;
      RETURN json_build_object('lost', to_json(v_lost), 'stepped', to_json(v_stepped), 'claimed', v_small_claimed,
        'notes', ${s}.refrain_notify(p_hub, p_origin, v_small_notes));
    END IF;
    -- A larger batch: the tasks are taken in one statement, plain steps committed set-based.
    -- v_taken refers to its item by position (p_items->ord) rather than copying the item's step.
    WITH items AS (
      SELECT (t.ord - 1)::integer AS ord, (t.v->>'id')::bigint AS id, t.v->>'token' AS token
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(v, ord)
    ), taken AS (
      DELETE FROM ${s}.activity_tasks t USING items i
        WHERE t.hub = p_hub AND t.id = i.id AND t.lease_token = i.token
        RETURNING i.ord, t.instance_id, t.execution_id
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', k.ord, 'instanceId', k.instance_id, 'exec', k.execution_id,
        'single', k.n = 1) ORDER BY k.ord), '[]')
      INTO v_taken FROM (SELECT taken.*, count(*) OVER (PARTITION BY instance_id) AS n FROM taken) AS k;
    v_lost := ARRAY(SELECT g FROM generate_series(0, jsonb_array_length(p_items) - 1) AS g
      EXCEPT SELECT (k->>'ord')::integer FROM jsonb_array_elements(v_taken) AS k ORDER BY 1);
    ${commitPlainSetBased(
      s,
      "v_taken",
      `SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', k->'ord', 'instanceId', k->'instanceId', 'src', k->'ord',
          'expect', i.step - 'checkpoint')), '[]')
        FROM jsonb_array_elements(v_taken) AS k, LATERAL (SELECT p_items->((k->>'ord')::integer)->'step' AS step) AS i
        WHERE (k->>'single')::boolean AND jsonb_typeof(i.step) = 'object'
          AND ${plainCheckpoint("i.step->'checkpoint'")}`,
      "'{step,checkpoint}'",
    )}
    v_stepped := v_applied;
    FOR v_item IN SELECT value FROM jsonb_array_elements(v_taken) LOOP
      CONTINUE WHEN (v_item->>'ord')::integer = ANY (v_applied);
      v_one := NULL;
      v_step := p_items->((v_item->>'ord')::integer)->'step';
      -- A step the set-based commit took but left out did not apply: its result is queued.
      IF jsonb_typeof(v_step) = 'object' AND NOT (v_use_set AND (v_item->>'single')::boolean
          AND ${plainCheckpoint("v_step->'checkpoint'")}) THEN
        v_one := ${s}.refrain_apply_checkpoint(p_hub, v_item->>'instanceId', NULL, v_step->'checkpoint', p_now,
          v_claim, v_step);
      END IF;
      IF v_one IS NOT NULL THEN
        v_stepped := v_stepped || (v_item->>'ord')::integer;
        v_notes := v_notes || (v_one->'notes');
        v_claimed := v_claimed || ${s}.refrain_claimed_at((v_item->>'ord')::integer, v_one->'claimed');
        v_claim := ${s}.refrain_spend_claim(v_claim, jsonb_array_length(v_one->'claimed'));
      ELSE
        INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
          VALUES (p_hub, v_item->>'instanceId', v_item->>'exec', p_items->((v_item->>'ord')::integer)->>'event', p_now);
        v_notes := v_notes || ${s}.refrain_work(v_item->>'instanceId');
      END IF;
    END LOOP;
    RETURN json_build_object('lost', to_json(v_lost), 'stepped', to_json(v_stepped),
      'claimed', ${mergeClaimed("v_claimed")},
      'notes', ${s}.refrain_notify(p_hub, p_origin, ${flatNotes("v_notes")}));
  END $$;

  -- One checkpoint, all or nothing. Returns {notes, claimed}, or NULL having changed nothing when
  -- the instance is not as required: fenced by p_token (the lease) when p_expect is NULL; else
  -- p_expect ({executionId, runtimeStatus, historyLength}, a step computed ahead of its activity's
  -- completion) requires that execution and status, no live lease, no visible inbox message and
  -- exactly that many history events. A repeated history sequence number violates history's key.
  -- p_claim ({worker, names, expires, max}, or NULL) leases up to max of the new tasks whose name
  -- is among names to worker; claimed holds their rows.
  CREATE OR REPLACE FUNCTION ${s}.refrain_apply_checkpoint(p_hub text, p_instance_id text, p_token text, p_cp jsonb,
    p_now bigint, p_claim jsonb, p_expect jsonb) RETURNS jsonb ${FN} AS $$
  DECLARE
    v_u jsonb := p_cp->'instance';
    v_exec text := p_cp->'instance'->>'executionId';
    v_row record;
    v_seq integer := 0;
    v_count integer;
    v_notes jsonb := '[]';
    v_child jsonb;
    v_rows jsonb;
    v_row2 jsonb;
    v_duplicates boolean;
    v_new jsonb[] := '{}';
    v_replace text[] := '{}';
    v_replies jsonb[] := '{}';
    v_claimed jsonb := '[]';
  BEGIN
    SELECT runtime_status, lease_token, lease_expires_at, execution_id INTO v_row FROM ${s}.instances
      WHERE hub = p_hub AND instance_id = p_instance_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    IF p_expect IS NULL THEN
      IF v_row.lease_token IS DISTINCT FROM p_token THEN
        RETURN NULL;
      END IF;
    ELSIF v_row.execution_id <> p_expect->>'executionId' OR v_row.runtime_status <> p_expect->>'runtimeStatus'
        OR v_row.lease_expires_at > p_now
        OR EXISTS (SELECT 1 FROM ${s}.inbox WHERE hub = p_hub AND instance_id = p_instance_id AND visible_at <= p_now)
    THEN
      RETURN NULL;
    END IF;
    IF p_cp->>'mode' = 'replace' THEN
      DELETE FROM ${s}.history WHERE hub = p_hub AND instance_id = p_instance_id;
    ELSE
      SELECT COALESCE(MAX(seq) + 1, 0) INTO v_seq FROM ${s}.history
        WHERE hub = p_hub AND instance_id = p_instance_id AND execution_id = v_exec;
      IF p_expect IS NOT NULL AND v_seq <> (p_expect->>'historyLength')::integer THEN
        RETURN NULL;
      END IF;
    END IF;
    INSERT INTO ${s}.history (hub, instance_id, execution_id, seq, event)
      SELECT p_hub, p_instance_id, v_exec, v_seq + e.ord::integer - 1, e.value
      FROM jsonb_array_elements_text(p_cp->'events') WITH ORDINALITY AS e(value, ord);
    IF jsonb_array_length(p_cp->'consumed') > 0 THEN
      DELETE FROM ${s}.inbox WHERE hub = p_hub AND instance_id = p_instance_id
        AND id IN (SELECT c::bigint FROM jsonb_array_elements_text(p_cp->'consumed') AS c);
    END IF;
    UPDATE ${s}.instances SET execution_id = v_exec, runtime_status = v_u->>'runtimeStatus',
        input = CASE WHEN (v_u->>'hasInput')::boolean THEN v_u->>'input' ELSE input END,
        output = v_u->>'output', custom_status = v_u->>'customStatus', failure = v_u->>'failure',
        last_updated_at = (v_u->>'lastUpdatedAt')::bigint, completed_at = (v_u->>'completedAt')::bigint,
        lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE hub = p_hub AND instance_id = p_instance_id;
    IF v_row.runtime_status <> v_u->>'runtimeStatus' THEN
      v_notes := v_notes || jsonb_build_object('kind', 'instance-updated', 'instanceId', p_instance_id,
        'runtimeStatus', v_u->>'runtimeStatus');
    END IF;
    IF jsonb_array_length(p_cp->'activities') > 0 THEN
      WITH wanted AS (
        SELECT t.v, t.ord, COALESCE(p_claim->'names' ? (t.v->>'name'), false) AS want
        FROM jsonb_array_elements(p_cp->'activities') WITH ORDINALITY AS t(v, ord)
      ), chosen AS (
        SELECT v, ord,
          want AND count(*) FILTER (WHERE want) OVER (ORDER BY ord) <= COALESCE((p_claim->>'max')::integer, 0) AS claim
        FROM wanted
      ), inserted AS (
        ${insertChosenTasks(s, "c.ord")}
      )
      SELECT COALESCE(jsonb_agg(to_jsonb(i) ORDER BY i.id) FILTER (WHERE i.lease_token IS NOT NULL), '[]'),
          count(*) FILTER (WHERE i.lease_token IS NULL)
        INTO v_claimed, v_count FROM inserted i;
      IF v_count > 0 THEN
        v_notes := v_notes || jsonb_build_object('kind', 'activity-work');
      END IF;
    END IF;
    IF jsonb_array_length(p_cp->'messages') > 0 THEN
      PERFORM ${s}.refrain_ensure_instance(p_hub, t.id, t.target, p_now)
        FROM (SELECT DISTINCT ON (m.v->>'instanceId') m.v->>'instanceId' AS id, m.v->'ensureTarget' AS target
              FROM jsonb_array_elements(p_cp->'messages') AS m(v) WHERE m.v->'ensureTarget' IS NOT NULL
              ORDER BY m.v->>'instanceId') AS t;
      INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
        SELECT p_hub, m.v->>'instanceId', m.v->>'executionId', m.v->>'event', (m.v->>'visibleAt')::bigint
        FROM jsonb_array_elements(p_cp->'messages') WITH ORDINALITY AS m(v, ord) ORDER BY m.ord;
      v_notes := v_notes || (SELECT jsonb_agg(DISTINCT ${s}.refrain_work(m.v->>'instanceId',
          (m.v->>'visibleAt')::bigint, p_now))
        FROM jsonb_array_elements(p_cp->'messages') AS m(v));
    END IF;
    IF jsonb_array_length(p_cp->'children') > 0 THEN
      v_rows := ${s}.refrain_lock_instances(p_hub,
        ARRAY(SELECT value->>'instanceId' FROM jsonb_array_elements(p_cp->'children')));
      v_duplicates := ${s}.refrain_has_duplicates(p_cp->'children');
      FOR v_child IN SELECT value FROM jsonb_array_elements(p_cp->'children') LOOP
        v_row2 := v_rows->(v_child->>'instanceId');
        IF v_row2 IS NOT NULL AND v_row2->>0 IN ${ACTIVE} THEN
          IF v_child->'conflictReply' IS NOT NULL THEN
            v_replies := v_replies || (v_child->'conflictReply');
          END IF;
        ELSE
          IF v_row2 IS NOT NULL THEN
            v_replace := v_replace || (v_child->>'instanceId');
          END IF;
          v_new := v_new || v_child;
          IF v_duplicates THEN
            v_rows := v_rows || jsonb_build_object(v_child->>'instanceId', jsonb_build_array('Pending', ''));
          END IF;
        END IF;
      END LOOP;
      INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
        SELECT p_hub, r->>'instanceId', r->>'executionId', r->>'event', (r->>'visibleAt')::bigint
        FROM unnest(v_replies) WITH ORDINALITY AS t(r, ord) ORDER BY ord;
      v_notes := v_notes || ${s}.refrain_insert_instances(p_hub, v_new, v_replace)
        || COALESCE((SELECT jsonb_agg(DISTINCT ${s}.refrain_work(r->>'instanceId')) FROM unnest(v_replies) AS r), '[]');
    END IF;
    -- Messages that arrived while the lease was held (a step computed ahead saw none visible), or
    -- that the step sent itself (its timers): announced from the first one's visible time.
    IF p_expect IS NULL THEN
      v_notes := v_notes || COALESCE((SELECT jsonb_agg(${s}.refrain_work(p_instance_id, f.at, p_now))
        FROM (SELECT MIN(m.visible_at) AS at FROM ${s}.inbox m WHERE m.hub = p_hub AND m.instance_id = p_instance_id) f
        WHERE f.at IS NOT NULL), '[]');
    END IF;
    RETURN jsonb_build_object('notes', v_notes, 'claimed', v_claimed);
  END $$;

  -- commitOrchestrations: several {instanceId, token, checkpoint} in one transaction; a lost lease
  -- skips its own checkpoint. p_claim ({worker, names, expires, max} or NULL): up to max new tasks of
  -- those names, over the whole batch, are leased to worker. Plain checkpoints of instances that
  -- occur once in the batch are committed set-based; the others one by one, in order. Returns
  -- {lost: [indexes], claimed: {index: [task rows]}, notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_commit_orchestrations(p_hub text, p_items jsonb, p_now bigint,
    p_origin text, p_claim jsonb) RETURNS json ${FN} AS $$
  DECLARE
    v_items jsonb;
    v_cp jsonb;
    v_set_items jsonb;
    v_use_set boolean;
    v_set jsonb;
    v_applied integer[];
    v_item jsonb;
    v_one jsonb;
    v_claim jsonb := p_claim;
    v_lost integer[] := '{}';
    v_claimed jsonb[];
    v_notes jsonb[];
  BEGIN
    -- v_items refers to its item by position (p_items->ord) rather than copying its checkpoint.
    SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', t.ord - 1, 'instanceId', t.v->>'instanceId',
        'token', t.v->>'token', 'single', t.n = 1) ORDER BY t.ord), '[]')
      INTO v_items FROM (SELECT e.v, e.ord, count(*) OVER (PARTITION BY e.v->>'instanceId') AS n
        FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(v, ord)) AS t;
    ${commitPlainSetBased(
      s,
      "v_items",
      `SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', k->'ord', 'instanceId', k->'instanceId', 'token', k->'token',
          'src', k->'ord')), '[]')
        FROM jsonb_array_elements(v_items) AS k, LATERAL (SELECT p_items->((k->>'ord')::integer)->'checkpoint' AS cp) AS i
        WHERE (k->>'single')::boolean AND ${plainCheckpoint("i.cp")}`,
      "'{checkpoint}'",
    )}
    FOR v_item IN SELECT value FROM jsonb_array_elements(v_items) LOOP
      CONTINUE WHEN (v_item->>'ord')::integer = ANY (v_applied);
      v_one := NULL;
      v_cp := p_items->((v_item->>'ord')::integer)->'checkpoint';
      IF NOT (v_use_set AND (v_item->>'single')::boolean AND ${plainCheckpoint("v_cp")}) THEN
        v_one := ${s}.refrain_apply_checkpoint(p_hub, v_item->>'instanceId', v_item->>'token', v_cp,
          p_now, v_claim, NULL);
      END IF;
      IF v_one IS NULL THEN
        v_lost := v_lost || (v_item->>'ord')::integer;
      ELSE
        v_notes := v_notes || (v_one->'notes');
        v_claimed := v_claimed || ${s}.refrain_claimed_at((v_item->>'ord')::integer, v_one->'claimed');
        v_claim := ${s}.refrain_spend_claim(v_claim, jsonb_array_length(v_one->'claimed'));
      END IF;
    END LOOP;
    RETURN json_build_object('lost', to_json(v_lost), 'claimed', ${mergeClaimed("v_claimed")},
      'notes', ${s}.refrain_notify(p_hub, p_origin, ${flatNotes("v_notes")}));
  END $$;

`;
}
