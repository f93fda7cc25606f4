/**
 * PostgreSQL-specific behaviour beyond the conformance suite: migrations (concurrent, versioned,
 * refusing foreign or newer schemas), notifications between store objects sharing a schema,
 * isolation between hubs and schemas, concurrent leasing, and surviving killed connections.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, test } from "node:test";
import pg from "pg";
import { RefrainError } from "../../src/core/errors.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { channelName, MIGRATIONS, SCHEMA_VERSION } from "../../src/store/postgres/schema.js";
import { migrate, type PostgresStoreOptions } from "../../src/store/postgres/setup.js";
import type { StoreNotification } from "../../src/store/store.js";
import {
  activityTask,
  checkpointFor,
  eventMessage,
  HUB,
  newInstance,
  ORCH,
  OTHER_HUB,
  rejectsWithCode,
  sleep,
  someEvents,
} from "./fixtures.js";
import { adminQuery, describePostgres, dropSchema, randomSchema, TEST_DATABASE_URL } from "./postgres-env.js";

const stores: PostgresStore[] = [];
const schemas: string[] = [];

/** A store on `schema` (a fresh one by default), closed and dropped after the test. */
function makeStore(options: Partial<PostgresStoreOptions> = {}): PostgresStore {
  const schema = options.schema ?? randomSchema();
  if (!schemas.includes(schema)) schemas.push(schema);
  const store = new PostgresStore({ connectionString: TEST_DATABASE_URL, ...options, schema });
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});

/** Collects a store's notifications for one hub as "kind:instanceId". */
function recorder(store: PostgresStore, hub = HUB): string[] {
  const seen: string[] = [];
  store.subscribe(hub, (n: StoreNotification) => {
    seen.push("instanceId" in n ? `${n.kind}:${n.instanceId}` : n.kind);
  });
  return seen;
}

/** Waits until `check` holds, polling every 10 ms, for at most `ms`. */
async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Terminates every backend whose application_name is `name`; returns how many. */
async function killBackends(name: string): Promise<number> {
  const { rows } = await adminQuery(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::integer AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
    [name],
  );
  return rows[0].n as number;
}

/**
 * Makes queries whose text includes `sql` commit but lose their reply (as a connection that breaks
 * after the commit) whenever `lose()` says so; returns the function that undoes it. (The pool
 * calls a client's query with a callback; the callback hears of the failure.)
 */
function loseReplies(sql: string, lose: () => boolean): () => void {
  type Callback = (err: unknown, result?: unknown) => void;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  const patched = function (this: pg.Client, ...args: unknown[]): unknown {
    const callback = args.at(-1);
    if (!String(args[0]).includes(sql) || typeof callback !== "function") return query.apply(this, args);
    const loseReply = lose();
    const wrapped: Callback = (err, result) =>
      (callback as Callback)(
        loseReply && !err ? new Error("Connection terminated unexpectedly") : err,
        result,
      );
    return query.apply(this, [...args.slice(0, -1), wrapped]);
  };
  pg.Client.prototype.query = patched as typeof pg.Client.prototype.query;
  return () => {
    pg.Client.prototype.query = query as typeof pg.Client.prototype.query;
  };
}

/** Passes when the error is the retryable StoreUnavailableError (or one of the `allowed` codes). */
function expectTransient(err: unknown, allowed: string[] = []): void {
  assert.ok(err instanceof RefrainError, `unexpected error ${String(err)}`);
  if (allowed.includes(err.code)) return;
  assert.equal(err.code, "STORE_UNAVAILABLE", String(err));
  assert.equal(err.retryable, true);
}

await describePostgres("PostgresStore specifics", () => {
  test("migrations run once when five stores open one new schema at the same time", async () => {
    const schema = randomSchema();
    const five = Array.from({ length: 5 }, () => makeStore({ schema }));
    await Promise.all(five.map((s) => s.open()));
    const { rows } = await adminQuery(`SELECT key, value FROM "${schema}".refrain_meta`);
    assert.deepStrictEqual(rows, [{ key: "schema_version", value: String(SCHEMA_VERSION) }]);
    await five[0]!.createInstance(HUB, newInstance("a"));
    assert.equal((await five[4]!.getInstance(HUB, "a"))?.runtimeStatus, "Pending");
    const result = await migrate({ connectionString: TEST_DATABASE_URL, schema });
    assert.deepStrictEqual(result, { schema, fromVersion: SCHEMA_VERSION, toVersion: SCHEMA_VERSION });
  });

  test("a schema at version 1 is upgraded in place, keeping its instances", async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const v1 = MIGRATIONS[0]!;
    await adminQuery(
      `CREATE SCHEMA "${schema}";
       CREATE TABLE "${schema}".refrain_meta (key text PRIMARY KEY, value text NOT NULL);
       INSERT INTO "${schema}".refrain_meta VALUES ('schema_version', '1');
       ${v1.sql(`"${schema}"`, channelName(schema))}`,
    );
    await adminQuery(
      `INSERT INTO "${schema}".instances (hub, instance_id, name, execution_id, runtime_status, created_at,
         last_updated_at) VALUES ($1, 'kept', $2, 'e1', 'Completed', 1, 1)`,
      [HUB, ORCH],
    );
    const result = await migrate({ connectionString: TEST_DATABASE_URL, schema });
    assert.deepStrictEqual(result, { schema, fromVersion: 1, toVersion: SCHEMA_VERSION });
    const store = makeStore({ schema });
    await store.open();
    assert.equal((await store.getInstance(HUB, "kept"))?.runtimeStatus, "Completed");
    await store.appendMessage(HUB, {
      ...eventMessage("@e@k", "x"),
      ensureTarget: { name: "@e", executionId: "entity" },
    });
    assert.equal((await store.getInstance(HUB, "@e@k"))?.runtimeStatus, "Pending");
  });

  test("a newer schema version is refused with STORE_CORRUPT", async () => {
    const schema = randomSchema();
    await makeStore({ schema }).open();
    await adminQuery(`UPDATE "${schema}".refrain_meta SET value = '99' WHERE key = 'schema_version'`);
    await rejectsWithCode(makeStore({ schema }).open(), "STORE_CORRUPT");
    await rejectsWithCode(migrate({ connectionString: TEST_DATABASE_URL, schema }), "STORE_CORRUPT");
  });

  test("a schema holding foreign tables is refused and left alone", async () => {
    const schema = randomSchema();
    schemas.push(schema);
    await adminQuery(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".customers (id int)`);
    await rejectsWithCode(makeStore({ schema }).open(), "STORE_CORRUPT");
    const { rows } = await adminQuery("SELECT tablename FROM pg_tables WHERE schemaname = $1", [schema]);
    assert.deepStrictEqual(rows, [{ tablename: "customers" }]);
  });

  test("options are validated", () => {
    for (const schema of ["Bad", "1abc", "a-b", "pg_x", "x".repeat(64), ""]) {
      assert.throws(() => new PostgresStore({ connectionString: TEST_DATABASE_URL, schema }), {
        code: "INVALID_ARGUMENT",
      });
    }
    assert.throws(() => new PostgresStore({ connectionString: TEST_DATABASE_URL, maxRetries: -1 }), {
      code: "INVALID_ARGUMENT",
    });
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      assert.throws(() => new PostgresStore(), { code: "INVALID_ARGUMENT" });
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  test("an unreachable database is StoreUnavailableError (retryable) after the retries", async () => {
    const store = makeStore({ connectionString: "postgres://postgres@127.0.0.1:1/test", maxRetries: 2 });
    await assert.rejects(store.open(), (err: unknown) => {
      expectTransient(err);
      assert.match(String(err), /after 3 attempts/);
      return true;
    });
    schemas.splice(schemas.indexOf(store.schema), 1);
  });

  test("changes made through one store notify listeners of another store on the schema", async () => {
    const a = makeStore();
    const b = makeStore({ schema: a.schema });
    await Promise.all([a.open(), b.open()]);
    const seenByA = recorder(a);
    const otherHubOfA = recorder(a, OTHER_HUB);
    const seenByB = recorder(b);
    await Promise.all([a.notificationsReady(), b.notificationsReady()]);
    await b.createInstance(HUB, newInstance("x"));
    await until("A to see x", () => seenByA.includes("orchestration-work:x"));
    assert.deepStrictEqual(seenByA.sort(), ["instance-updated:x", "orchestration-work:x"]);
    // B heard its own change once (locally), not again through LISTEN.
    await sleep(100);
    assert.deepStrictEqual(seenByB.sort(), ["instance-updated:x", "orchestration-work:x"]);
    seenByA.length = 0;
    // A failed call notifies nobody; activity work and completions cross over too.
    await rejectsWithCode(b.createInstance(HUB, newInstance("x")), "INSTANCE_ALREADY_EXISTS");
    const item = await b.leaseNextOrchestration(HUB, "w", [ORCH], 60_000);
    assert.ok(item);
    await b.commitOrchestration(
      item.lease,
      checkpointFor(item, { activities: [activityTask("x", "x-e1", 0)] }),
    );
    await until("A to see activity work", () => seenByA.includes("activity-work"));
    assert.deepStrictEqual(seenByA.sort(), ["activity-work", "instance-updated:x"]);
    assert.deepStrictEqual(otherHubOfA, []);
  });

  test("hubs and schemas are isolated across store objects", async () => {
    const a = makeStore();
    const b = makeStore({ schema: a.schema });
    const elsewhere = makeStore();
    await Promise.all([a.open(), b.open(), elsewhere.open()]);
    const seenElsewhere = recorder(elsewhere);
    const seenOnHubA = recorder(a);
    await Promise.all([a.notificationsReady(), elsewhere.notificationsReady()]);
    await b.createInstance(OTHER_HUB, newInstance("y"));
    await a.createInstance(HUB, newInstance("z"));
    assert.equal(await a.getInstance(HUB, "y"), undefined);
    assert.equal((await a.getInstance(OTHER_HUB, "y"))?.runtimeStatus, "Pending");
    assert.equal(await elsewhere.getInstance(HUB, "z"), undefined);
    assert.equal(await elsewhere.leaseNextOrchestration(HUB, "w", [ORCH], 1000), undefined);
    await sleep(200);
    assert.deepStrictEqual(seenElsewhere, []);
    assert.deepStrictEqual(seenOnHubA.sort(), ["instance-updated:z", "orchestration-work:z"]);
  });

  test("concurrent workers on two store objects never lease the same instance or task", async () => {
    const a = makeStore();
    const b = makeStore({ schema: a.schema });
    await Promise.all([a.open(), b.open()]);
    for (let i = 0; i < 20; i++) await a.createInstance(HUB, newInstance(`i${i}`));
    const leases = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? a : b).leaseNextOrchestration(HUB, `w${i}`, [ORCH], 60_000),
      ),
    );
    const ids = leases.filter((l) => l !== undefined).map((l) => l.instance.instanceId);
    assert.equal(ids.length, 20);
    assert.equal(new Set(ids).size, 20);
    await Promise.all(
      leases.map((l) =>
        l
          ? a.commitOrchestration(
              l.lease,
              checkpointFor(l, {
                activities: [activityTask(l.instance.instanceId, `${l.instance.instanceId}-e1`, 0)],
              }),
            )
          : undefined,
      ),
    );
    const tasks = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).leaseNextActivity(HUB, `w${i}`, ["Act"], 60_000)),
    );
    const taskIds = tasks.filter((t) => t !== undefined).map((t) => t.task.id);
    assert.equal(new Set(taskIds).size, 20);
  });

  test("killed connections: calls succeed after retry or throw StoreUnavailableError, nothing half-written", async () => {
    const app = `refrain_fault_${randomBytes(4).toString("hex")}`;
    const store = makeStore({ pool: { application_name: app, max: 4 }, maxRetries: 6 });
    await store.open();
    let killed = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        killed += await killBackends(app);
        await sleep(15);
      }
    })();
    const ids = Array.from({ length: 60 }, (_, i) => `f${i}`);
    const created = await Promise.allSettled(ids.map((id) => store.createInstance(HUB, newInstance(id))));
    for (const r of created) if (r.status === "rejected") expectTransient(r.reason);
    // Lease and commit under fire: two history events and one activity task per step.
    const steps = await Promise.allSettled(
      ids.map(async () => {
        const item = await store.leaseNextOrchestration(HUB, "w", [ORCH], 300);
        if (!item) return;
        const id = item.instance.instanceId;
        await store.commitOrchestration(
          item.lease,
          checkpointFor(item, {
            history: { mode: "append", events: someEvents(1) },
            activities: [activityTask(id, `${id}-e1`, 0)],
            messages: [eventMessage(id, "later", Date.now() + 600_000)],
          }),
        );
      }),
    );
    killing = false;
    await killer;
    assert.ok(killed > 0, "the test killed some connections");
    for (const r of steps) if (r.status === "rejected") expectTransient(r.reason, ["LEASE_LOST"]);

    // The store works again; finish every Pending instance (orphaned leases expire after 300 ms).
    await store.createInstance(HUB, newInstance("after"));
    const s = `"${store.schema}"`;
    for (let round = 0; round < 200; round++) {
      const item = await store.leaseNextOrchestration(HUB, "w", [ORCH], 300);
      if (!item) {
        const { rows } = await adminQuery(
          `SELECT count(*)::int AS n FROM ${s}.instances WHERE runtime_status = 'Pending'`,
        );
        if (rows[0].n === 0) break;
        await sleep(50);
        continue;
      }
      const id = item.instance.instanceId;
      await store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          history: { mode: "append", events: someEvents(1) },
          activities: [activityTask(id, `${id}-e1`, 0)],
          messages: [eventMessage(id, "later", Date.now() + 600_000)],
        }),
      );
    }
    // Every create either happened completely or not at all, and so did every commit.
    const { rows } = await adminQuery(
      `SELECT i.instance_id, i.runtime_status,
         (SELECT count(*)::int FROM ${s}.history h WHERE h.hub = i.hub AND h.instance_id = i.instance_id) AS events,
         (SELECT count(*)::int FROM ${s}.activity_tasks t WHERE t.hub = i.hub AND t.instance_id = i.instance_id) AS tasks,
         (SELECT count(*)::int FROM ${s}.inbox m WHERE m.hub = i.hub AND m.instance_id = i.instance_id) AS messages
       FROM ${s}.instances i ORDER BY i.instance_id`,
    );
    const succeeded = ids.filter((_, i) => created[i]!.status === "fulfilled");
    const present = rows.map((r) => r.instance_id as string);
    for (const id of succeeded) assert.ok(present.includes(id), `${id} was acknowledged but is missing`);
    for (const r of rows) {
      assert.deepStrictEqual(
        {
          id: r.instance_id,
          status: r.runtime_status,
          events: r.events,
          tasks: r.tasks,
          messages: r.messages,
        },
        { id: r.instance_id, status: "Running", events: 2, tasks: 1, messages: 1 },
      );
    }
  });

  test("a retry after a commit whose reply was lost adds the message once and reports success", async () => {
    const store = makeStore();
    await store.open();
    await store.createInstance(HUB, newInstance("twice"));
    const s = `"${store.schema}"`;
    const raised = async (): Promise<number> =>
      (
        await adminQuery(
          `SELECT count(*)::int AS n FROM ${s}.inbox WHERE instance_id = 'twice' AND event LIKE '%EventRaised%'`,
        )
      ).rows[0].n as number;
    // The first attempt of each call commits, then its connection "breaks" before the reply.
    let lost = 0;
    const restore = loseReplies("refrain_append_message(", () => lost++ % 2 === 0);
    try {
      await store.appendMessage(HUB, eventMessage("twice", "approved"));
      assert.equal(lost, 2, "the first attempt's reply was lost and the call retried");
      assert.equal(await raised(), 1);
      // A transition: the retry must not fail because the first attempt already changed the status.
      await store.appendMessage(HUB, eventMessage("twice", "pause"), {
        transition: { from: "Pending", to: "Suspended" },
      });
      assert.equal(lost, 4);
      assert.equal(await raised(), 2);
      assert.equal((await store.getInstance(HUB, "twice"))?.runtimeStatus, "Suspended");
    } finally {
      restore();
    }
    // Without an earlier attempt the key does not get in the way: the same message again is added.
    await store.appendMessage(HUB, eventMessage("twice", "approved"));
    assert.equal(await raised(), 3);
  });

  test("a batch of appends retried after its reply was lost adds each message once and refuses the same calls", async () => {
    const store = makeStore();
    await store.open();
    await store.createInstance(HUB, newInstance("one"));
    await store.createInstance(HUB, newInstance("two"));
    const s = `"${store.schema}"`;
    const raised = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        (
          await adminQuery(
            `SELECT instance_id AS id, count(*)::int AS n FROM ${s}.inbox WHERE event LIKE '%EventRaised%' GROUP BY 1`,
          )
        ).rows.map((r) => [r.id as string, r.n as number]),
      );
    let attempts = 0;
    const restore = loseReplies("refrain_append_messages(", () => attempts++ === 0);
    let settled: PromiseSettledResult<void>[];
    try {
      settled = await Promise.allSettled([
        store.appendMessage(HUB, eventMessage("one", "a")),
        store.appendMessage(HUB, eventMessage("two", "pause"), {
          transition: { from: "Pending", to: "Suspended" },
        }),
        store.appendMessage(HUB, eventMessage("one", "refused"), {
          transition: { from: "Failed", to: "Pending" },
        }),
        store.appendMessage(HUB, eventMessage("ghost", "x")),
      ]);
    } finally {
      restore();
    }
    assert.equal(attempts, 2, "the batch's first reply was lost and the batch retried");
    assert.deepStrictEqual(
      settled.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as { code?: string }).code)),
      ["ok", "ok", "INVALID_STATE", "INSTANCE_NOT_FOUND"],
    );
    assert.deepStrictEqual(await raised(), { one: 1, two: 1 });
    assert.equal((await store.getInstance(HUB, "two"))?.runtimeStatus, "Suspended");
  });

  test("the listening connection comes back after its backend is terminated", async () => {
    const app = `refrain_listen_${randomBytes(4).toString("hex")}`;
    const a = makeStore({ pool: { application_name: app } });
    const b = makeStore({ schema: a.schema });
    await Promise.all([a.open(), b.open()]);
    const seen = recorder(a);
    await a.notificationsReady();
    assert.ok((await killBackends(app)) >= 1);
    // The reconnect announces itself with a synthetic wake-up, since notifications may have been missed.
    await until("the synthetic wake-up", () => seen.includes("orchestration-work:"));
    await a.notificationsReady();
    await b.createInstance(HUB, newInstance("after-reconnect"));
    await until("the notification after reconnecting", () =>
      seen.includes("orchestration-work:after-reconnect"),
    );
    // The pool recovered as well.
    assert.equal((await a.getInstance(HUB, "after-reconnect"))?.runtimeStatus, "Pending");
  });
});
