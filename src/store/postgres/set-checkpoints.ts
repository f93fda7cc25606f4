/**
 * The set-based checkpoint function of the PostgreSQL store (part of the store's functions, see
 * functions.ts). It commits the plain checkpoints of a batch, the common case (history, consumed
 * messages, instance row, new activity tasks, messages to existing instances), with one statement
 * of each kind for the whole batch, where `refrain_apply_checkpoint` runs a dozen statements per
 * checkpoint. Batch functions with at least `SET_MIN_ITEMS` plain items hand those to it first and
 * the rest to `refrain_apply_checkpoint`, one by one.
 */
import { FN } from "./plpgsql.js";

/**
 * The fewest plain checkpoints a batch hands to the set-based function: its fixed cost (a dozen
 * statements whatever the batch's size) is more than a few single checkpoints cost, so a batch of
 * one (a workflow of sequential steps) goes on one by one.
 */
export const SET_MIN_ITEMS = 4;

/**
 * True (as SQL, on the checkpoint `cp`) for a checkpoint the set-based function commits: it
 * appends to the history (no continue-as-new), starts no child and sends no message that may
 * create its target.
 */
export function plainCheckpoint(cp: string): string {
  return `(COALESCE(${cp}->>'mode', '') <> 'replace'
    AND COALESCE(jsonb_array_length(${cp}->'children'), 0) = 0
    AND NOT jsonb_path_exists(COALESCE(${cp}->'messages', '[]'), '$[*].ensureTarget'))`;
}

/**
 * The notes a batch function collected item by item in the jsonb[] variable `v` (each an array of
 * notes or one note), as one jsonb array in order. Batches collect into an array and flatten once:
 * appending to a jsonb value in a loop copies it every time, which made a batch's cost grow with
 * its size squared. (An expression in the function, not a function of its own: PostgreSQL plans a
 * SQL function's query anew at every call, and each PL/pgSQL call has its own cost.)
 */
export function flatNotes(v: string): string {
  return `(SELECT COALESCE(jsonb_agg(n.value ORDER BY t.ord, n.ord), '[]')
      FROM unnest(${v}) WITH ORDINALITY AS t(v, ord),
        jsonb_array_elements(CASE WHEN jsonb_typeof(t.v) = 'array' THEN t.v ELSE jsonb_build_array(t.v) END)
          WITH ORDINALITY AS n(value, ord))`;
}

/** The claimed tasks a batch function collected in the jsonb[] variable `v` ({index: rows} objects), merged. */
export function mergeClaimed(v: string): string {
  return `(SELECT COALESCE(jsonb_object_agg(e.key, e.value), '{}') FROM unnest(${v}) AS p(v), jsonb_each(p.v) AS e)`;
}

/**
 * The INSERT of new activity tasks from the CTE `chosen` (its rows `v`, the task, and `claim`,
 * whether to lease it to p_claim's worker), in `orderBy` order, returning the inserted rows.
 */
export function insertChosenTasks(s: string, orderBy: string): string {
  return `INSERT INTO ${s}.activity_tasks (hub, instance_id, execution_id, task_id, name, input, attempt, visible_at,
          delivery_count, lease_worker, lease_token, lease_expires_at)
        SELECT p_hub, c.v->>'instanceId', c.v->>'executionId', (c.v->>'taskId')::integer, c.v->>'name',
          c.v->>'input', (c.v->>'attempt')::integer, p_now, CASE WHEN c.claim THEN 1 ELSE 0 END,
          CASE WHEN c.claim THEN p_claim->>'worker' END, CASE WHEN c.claim THEN gen_random_uuid()::text END,
          CASE WHEN c.claim THEN (p_claim->>'expires')::bigint END
        FROM chosen c ORDER BY ${orderBy}
        RETURNING *`;
}

/**
 * The part of a batch function that hands its plain items to `refrain_apply_checkpoints`: when the
 * jsonb array variable `list` has at least SET_MIN_ITEMS items and the query `candidates` selects
 * at least as many for the set-based way, they are committed there. The candidates name their
 * checkpoints by position in p_items (`src`) and `path` within that item (a SQL text[] literal).
 * Sets the batch function's v_set_items, v_use_set, v_set, v_applied (ords committed), v_notes,
 * v_claimed and v_claim.
 */
export function commitPlainSetBased(s: string, list: string, candidates: string, path: string): string {
  return `v_use_set := false;
    IF jsonb_array_length(${list}) >= ${SET_MIN_ITEMS} THEN
      v_set_items := (${candidates});
      v_use_set := jsonb_array_length(v_set_items) >= ${SET_MIN_ITEMS};
    END IF;
    v_applied := '{}';
    v_notes := '{}';
    v_claimed := '{}';
    IF v_use_set THEN
      v_set := ${s}.refrain_apply_checkpoints(p_hub, v_set_items, p_items, ${path}, p_now, v_claim);
      v_applied := ARRAY(SELECT jsonb_array_elements_text(v_set->'applied')::integer);
      v_notes := ARRAY[v_set->'notes'];
      v_claimed := ARRAY[v_set->'claimed'];
      v_claim := ${s}.refrain_spend_claim(v_claim, (v_set->>'claimedCount')::integer);
    END IF;`;
}

/**
 * The rows of v_ok in refrain_apply_checkpoints, each (as o) with its item's entry of v_ok (o.v) and
 * its checkpoint (o.cp), read from p_source.
 */
const OK_ITEMS = `(SELECT k.v, p_source->((k.v->>'src')::integer) #> p_path AS cp
    FROM jsonb_array_elements(v_ok) AS k(v))`;

/** The set-based checkpoint function against schema `s` (a quoted identifier). */
export function setCheckpointFunctions(s: string): string {
  return `
  -- Commits plain checkpoints (see plainCheckpoint) set-based. p_items: [{ord, instanceId, token,
  -- expect, src}], each fenced as refrain_apply_checkpoint fences it (by token when expect is null,
  -- else by expect), and at most one per instance: only an instance's first item may commit, the
  -- others are left out. An item's checkpoint is p_source->src #> p_path: the caller's batch
  -- argument is read in place, not copied (building a jsonb value copies what it holds). p_claim as
  -- in refrain_commit_orchestrations, spent in item order.
  -- Returns {applied: [ords], claimed: {ord: [task rows]}, claimedCount, notes}.
  CREATE OR REPLACE FUNCTION ${s}.refrain_apply_checkpoints(p_hub text, p_items jsonb, p_source jsonb, p_path text[],
    p_now bigint, p_claim jsonb)
  RETURNS jsonb ${FN} AS $$
  DECLARE
    v_ids text[];
    v_ok jsonb;
    v_claimed jsonb := '{}';
    v_claimed_count integer := 0;
    v_unclaimed integer := 0;
    v_notes jsonb;
  BEGIN
    -- The items that commit, each with its instance's row locked (in ID order, by the primary key)
    -- and the sequence number its events start at.
    v_ids := ARRAY(SELECT DISTINCT t.v->>'instanceId' FROM jsonb_array_elements(p_items) AS t(v));
    WITH items AS (
      SELECT DISTINCT ON (t.v->>'instanceId') (t.v->>'ord')::integer AS ord, (t.v->>'src')::integer AS src,
        t.v->>'instanceId' AS id, t.v->>'token' AS token, t.v->'expect' AS expect,
        (p_source->((t.v->>'src')::integer) #> p_path)->'instance' AS next_row
      FROM jsonb_array_elements(p_items) AS t(v)
      ORDER BY t.v->>'instanceId', (t.v->>'ord')::integer
    ), locked AS (
      SELECT i.instance_id, i.runtime_status, i.lease_token, i.lease_expires_at, i.execution_id
      FROM ${s}.instances i WHERE i.hub = p_hub AND i.instance_id = ANY (v_ids)
      ORDER BY i.instance_id
      FOR NO KEY UPDATE
    ), busy AS (
      SELECT DISTINCT m.instance_id FROM ${s}.inbox m
      WHERE m.hub = p_hub AND m.instance_id = ANY (v_ids) AND m.visible_at <= p_now
    ), sequenced AS (
      SELECT it.*, l.runtime_status, l.lease_token, l.lease_expires_at, l.execution_id,
        COALESCE((SELECT max(h.seq) + 1 FROM ${s}.history h WHERE h.hub = p_hub
          AND h.instance_id = it.id AND h.execution_id = it.next_row->>'executionId'), 0) AS seq,
        it.id IN (SELECT instance_id FROM busy) AS busy
      FROM items it JOIN locked l ON l.instance_id = it.id
    )
    SELECT COALESCE(jsonb_agg(jsonb_build_object('ord', q.ord, 'src', q.src, 'id', q.id, 'seq', q.seq,
        'changed', q.runtime_status <> q.next_row->>'runtimeStatus', 'leased', q.expect IS NULL)
        ORDER BY q.ord), '[]')
      INTO v_ok
      FROM sequenced q
      WHERE CASE WHEN q.expect IS NULL THEN q.lease_token IS NOT DISTINCT FROM q.token
        ELSE q.execution_id = q.expect->>'executionId' AND q.runtime_status = q.expect->>'runtimeStatus'
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at <= p_now)
          AND q.seq = (q.expect->>'historyLength')::integer
          AND NOT q.busy
        END;
    IF jsonb_array_length(v_ok) = 0 THEN
      RETURN jsonb_build_object('applied', '[]'::jsonb, 'claimed', '{}'::jsonb, 'claimedCount', 0, 'notes', '[]'::jsonb);
    END IF;

    INSERT INTO ${s}.history (hub, instance_id, execution_id, seq, event)
      SELECT p_hub, o.v->>'id', o.cp->'instance'->>'executionId', (o.v->>'seq')::integer + e.ord::integer - 1, e.value
      FROM ${OK_ITEMS} AS o,
        jsonb_array_elements_text(o.cp->'events') WITH ORDINALITY AS e(value, ord);

    DELETE FROM ${s}.inbox m
      USING (SELECT o.v->>'id' AS instance_id, c.id::bigint AS id
        FROM ${OK_ITEMS} AS o, jsonb_array_elements_text(COALESCE(o.cp->'consumed', '[]')) AS c(id)) AS d
      WHERE m.hub = p_hub AND m.id = d.id AND m.instance_id = d.instance_id;

    UPDATE ${s}.instances i SET execution_id = u.v->>'executionId', runtime_status = u.v->>'runtimeStatus',
        input = CASE WHEN (u.v->>'hasInput')::boolean THEN u.v->>'input' ELSE i.input END,
        output = u.v->>'output', custom_status = u.v->>'customStatus', failure = u.v->>'failure',
        last_updated_at = (u.v->>'lastUpdatedAt')::bigint, completed_at = (u.v->>'completedAt')::bigint,
        lease_worker = NULL, lease_token = NULL, lease_expires_at = NULL
      FROM (SELECT o.v->>'id' AS id, o.cp->'instance' AS v FROM ${OK_ITEMS} AS o) AS u
      WHERE i.hub = p_hub AND i.instance_id = u.id;

    -- New activity tasks, the first ones (in item order) claimed as p_claim allows.
    WITH wanted AS (
      SELECT (o.v->>'ord')::integer AS item, a.v, a.ord, COALESCE(p_claim->'names' ? (a.v->>'name'), false) AS want
      FROM ${OK_ITEMS} AS o,
        jsonb_array_elements(COALESCE(o.cp->'activities', '[]')) WITH ORDINALITY AS a(v, ord)
    ), chosen AS (
      SELECT item, v, ord,
        want AND count(*) FILTER (WHERE want) OVER (ORDER BY item, ord) <= COALESCE((p_claim->>'max')::integer, 0) AS claim
      FROM wanted
    ), inserted AS (
      ${insertChosenTasks(s, "c.item, c.ord")}
    ), by_item AS (
      SELECT (o.v->>'ord') AS item, jsonb_agg(to_jsonb(i) ORDER BY i.id) AS rows, count(*) AS n
      FROM inserted i JOIN jsonb_array_elements(v_ok) AS o(v) ON o.v->>'id' = i.instance_id
      WHERE i.lease_token IS NOT NULL
      GROUP BY o.v->>'ord'
    )
    SELECT COALESCE((SELECT jsonb_object_agg(item, rows) FROM by_item), '{}'),
        COALESCE((SELECT sum(n) FROM by_item), 0),
        (SELECT count(*) FROM inserted WHERE lease_token IS NULL)
      INTO v_claimed, v_claimed_count, v_unclaimed;

    INSERT INTO ${s}.inbox (hub, instance_id, execution_id, event, visible_at)
      SELECT p_hub, m.v->>'instanceId', m.v->>'executionId', m.v->>'event', (m.v->>'visibleAt')::bigint
      FROM ${OK_ITEMS} AS o,
        jsonb_array_elements(COALESCE(o.cp->'messages', '[]')) WITH ORDINALITY AS m(v, ord)
      ORDER BY (o.v->>'ord')::integer, m.ord;

    -- Status changes, new work for message targets and for leased instances that received
    -- messages while their lease was held, and new unclaimed tasks.
    SELECT COALESCE(jsonb_agg(n.note ORDER BY n.rank, n.ord), '[]') INTO v_notes FROM (
      SELECT 0 AS rank, (o.v->>'ord')::integer AS ord, jsonb_build_object('kind', 'instance-updated',
          'instanceId', o.v->>'id', 'runtimeStatus', o.cp->'instance'->>'runtimeStatus') AS note
        FROM ${OK_ITEMS} AS o WHERE (o.v->>'changed')::boolean
      UNION ALL
      SELECT DISTINCT 1, 0, ${s}.refrain_work(m.v->>'instanceId', (m.v->>'visibleAt')::bigint, p_now)
        FROM ${OK_ITEMS} AS o, jsonb_array_elements(COALESCE(o.cp->'messages', '[]')) AS m(v)
      UNION ALL
      SELECT 1, 0, ${s}.refrain_work(o.v->>'id', f.at, p_now) FROM jsonb_array_elements(v_ok) AS o(v),
        LATERAL (SELECT MIN(m.visible_at) AS at FROM ${s}.inbox m WHERE m.hub = p_hub AND m.instance_id = o.v->>'id') f
        WHERE (o.v->>'leased')::boolean AND f.at IS NOT NULL
      UNION ALL
      SELECT 2, 0, jsonb_build_object('kind', 'activity-work') WHERE v_unclaimed > 0
    ) AS n;

    RETURN jsonb_build_object('applied', (SELECT jsonb_agg((o.v->>'ord')::integer) FROM jsonb_array_elements(v_ok) AS o(v)),
      'claimed', v_claimed, 'claimedCount', v_claimed_count, 'notes', v_notes);
  END $$;
`;
}
