/**
 * runEntityBatch, table-driven: an entity's document plus the messages it received, in, and the
 * checkpoint (new document, responses, forwarded lock requests, outgoing work) out.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type EntityDocument,
  type EntityFunction,
  parseEntityDocument,
  type QueuedRequest,
  runEntityBatch,
} from "../../src/core/entity-batch.js";
import type { EntityContext } from "../../src/core/entity-context.js";
import { type EntityRequestEvent, type InboxEvent, makeEvent } from "../../src/core/events.js";
import type { InboxMessage, InstanceRecord, NewMessage } from "../../src/core/records.js";
import type { NameRegistry } from "../../src/core/refs.js";
import { j, NOW } from "./util.js";

const ENTITY = "@list@k";
const OWNER = "orch-a";
const OTHER = "orch-b";

/** A list entity: append / get / fail (after appending) / destroy / signal / start / async. */
const list: EntityFunction = (ctx: EntityContext<unknown>) => {
  const c = ctx as EntityContext<string[]>;
  switch (c.operationName) {
    case "append":
      c.setState([...c.getState(() => []), c.getInput<string>()]);
      return;
    case "get":
      return c.getState(() => []);
    case "explicitReturn":
      c.return("explicit");
      return "ignored";
    case "mutateCopy":
      c.getState(() => [])?.push("lost");
      return;
    case "fail":
      c.setState([...c.getState(() => []), "never"]);
      c.signalEntity("@list@other", "append", "never");
      c.startNewOrchestration("Never");
      throw Object.assign(new TypeError("bad input"), { field: "name" });
    case "destroy":
      c.destructOnExit();
      return;
    case "signal":
      c.signalEntity("@list@other", "append", c.getInput<string>());
      c.signalEntity("@list@later", "append", "later", { signalTime: new Date(NOW.getTime() + 60_000) });
      return;
    case "start":
      return c.startNewOrchestration("Report", c.getState(), "report-1");
    case "startUnknown":
      return c.startNewOrchestration("Unknown");
    case "signalUnknown":
      c.signalEntity("@nope@x", "op");
      return;
    case "badState":
      c.setState([(() => 1) as unknown as string]);
      return;
    case "async":
      return Promise.resolve(1);
    default:
      throw new Error(`unknown operation ${c.operationName}`);
  }
};

const registry: NameRegistry = {
  activityNames: () => [],
  orchestratorNames: () => ["Never", "Report"],
  entityNames: () => ["list"],
};

let requests = 0;
const called = (operation: string, input?: unknown, caller = OWNER): QueuedRequest =>
  makeEvent(NOW, {
    kind: "EntityOperationCalled",
    requestId: `req-${++requests}`,
    operation,
    input: input === undefined ? undefined : j(input),
    parentInstanceId: caller,
    parentExecutionId: `${caller}-exec`,
  });
const signaled = (operation: string, input?: unknown): QueuedRequest =>
  makeEvent(NOW, {
    kind: "EntityOperationSignaled",
    requestId: `sig-${++requests}`,
    operation,
    input: input === undefined ? undefined : j(input),
  });
const lockRequest = (section: string, lockSet: string[], position: number, owner = OWNER): QueuedRequest =>
  makeEvent(NOW, {
    kind: "EntityLockRequested",
    criticalSectionId: section,
    lockSet,
    position,
    parentInstanceId: owner,
    parentExecutionId: `${owner}-exec`,
  });
const unlock = (section: string, owner = OWNER): EntityRequestEvent =>
  makeEvent(NOW, { kind: "EntityUnlockSent", criticalSectionId: section, parentInstanceId: owner });

function instance(doc: EntityDocument = {}): InstanceRecord {
  const empty = Object.keys(doc).length === 0;
  return {
    instanceId: ENTITY,
    name: "@list",
    executionId: "entity",
    runtimeStatus: empty ? "Pending" : "Running",
    ...(empty ? {} : { input: JSON.stringify(doc) }),
    createdAt: 0,
    lastUpdatedAt: 0,
  };
}

function batch(events: InboxEvent[], doc: EntityDocument = {}, fn: EntityFunction = list) {
  const messages: InboxMessage[] = events.map((event, i) => ({
    id: `m${i + 1}`,
    instanceId: ENTITY,
    event,
    visibleAt: NOW.getTime(),
  }));
  let ids = 0;
  const out = runEntityBatch(
    fn,
    { instance: instance(doc), messages, now: NOW, newId: () => `id-${++ids}` },
    { registry, maxPayloadBytes: 1024 },
  );
  assert.deepEqual(
    out.checkpoint.consumedMessageIds,
    messages.map((m) => m.id),
    "every message is consumed",
  );
  assert.deepEqual(out.checkpoint.history, { mode: "append", events: [] }, "entities keep no history");
  return out;
}

const state = (doc: EntityDocument) => (doc.state === undefined ? undefined : JSON.parse(doc.state));
/** The responses sent to orchestrations: [target instance, execution, kind, requestId or section, payload]. */
const replies = (messages: NewMessage[]) =>
  messages
    .filter((m) => !m.instanceId.startsWith("@"))
    .map((m) => {
      const e = m.event;
      if (e.kind === "EntityOperationCompleted")
        return [m.instanceId, m.executionId, e.kind, e.requestId, e.result];
      if (e.kind === "EntityOperationFailed")
        return [m.instanceId, m.executionId, e.kind, e.requestId, e.failure.name];
      if (e.kind === "EntityLockGranted")
        return [m.instanceId, m.executionId, e.kind, e.criticalSectionId, e.lockSet];
      return [m.instanceId, e.kind];
    });

describe("runEntityBatch: operations", () => {
  test("operations run one after another in arrival order, each seeing the last one's state", () => {
    const out = batch([
      signaled("append", "a"),
      signaled("append", "b"),
      called("get"),
      signaled("append", "c"),
    ]);
    assert.deepEqual(state(out.document), ["a", "b", "c"]);
    assert.deepEqual(replies(out.checkpoint.messages), [
      [OWNER, `${OWNER}-exec`, "EntityOperationCompleted", `req-${requests - 1}`, j(["a", "b"])],
    ]);
    assert.equal(out.checkpoint.instance.runtimeStatus, "Running");
    assert.equal(out.checkpoint.instance.input, JSON.stringify({ state: j(["a", "b", "c"]) }));
    assert.equal(out.checkpoint.instance.lastUpdatedAt, NOW.getTime());
    assert.deepEqual(
      out.operations.map((o) => [o.operation, o.callerInstanceId]),
      [
        ["append", undefined],
        ["append", undefined],
        ["get", OWNER],
        ["append", undefined],
      ],
    );
  });

  test("a value given to ctx.return wins over the function's return value", () => {
    const out = batch([called("explicitReturn")]);
    assert.equal(replies(out.checkpoint.messages)[0]?.[4], j("explicit"));
  });

  test("getState hands out a copy: changing it without setState changes nothing", () => {
    const out = batch([called("mutateCopy"), called("get")], { state: j(["x"]) });
    assert.equal(replies(out.checkpoint.messages)[1]?.[4], j(["x"]));
  });

  test("a throwing operation rolls back its state, signals and starts; the caller gets the failure", () => {
    const out = batch([signaled("append", "a"), called("fail"), called("get")]);
    assert.deepEqual(state(out.document), ["a"]);
    assert.deepEqual(out.checkpoint.children, []);
    assert.deepEqual(
      out.checkpoint.messages.filter((m) => m.instanceId.startsWith("@")),
      [],
      "the failed operation's signal is not sent",
    );
    const [failed, got] = out.checkpoint.messages;
    assert.equal(failed?.event.kind, "EntityOperationFailed");
    if (failed?.event.kind === "EntityOperationFailed") {
      assert.equal(failed.event.failure.name, "TypeError");
      assert.equal(failed.event.failure.message, "bad input");
      assert.deepEqual(failed.event.failure.properties, { field: "name" });
    }
    assert.equal(got?.event.kind === "EntityOperationCompleted" && got.event.result, j(["a"]));
    assert.equal(out.operations[1]?.failure?.name, "TypeError");
  });

  test("a failing signal (nobody waits for it) is reported and rolled back", () => {
    const out = batch([signaled("append", "a"), signaled("fail")]);
    assert.deepEqual(state(out.document), ["a"]);
    assert.deepEqual(out.checkpoint.messages, []);
    assert.equal(out.operations[1]?.failure?.message, "bad input");
  });

  const failures: [string, string, RegExp][] = [
    ["async", "INVALID_YIELD", /must be synchronous/],
    ["badState", "PAYLOAD_NOT_SERIALIZABLE", /function/],
    ["startUnknown", "ORCHESTRATOR_NOT_FOUND", /Unknown/],
    ["signalUnknown", "ENTITY_NOT_FOUND", /nope/],
    ["noSuchOperation", "", /unknown operation/],
  ];
  for (const [operation, code, message] of failures) {
    test(`operation '${operation}' fails the call${code ? ` with ${code}` : ""} and changes nothing`, () => {
      const out = batch([called(operation)], { state: j(["kept"]) });
      assert.deepEqual(state(out.document), ["kept"]);
      const [reply] = out.checkpoint.messages;
      assert.equal(reply?.event.kind, "EntityOperationFailed");
      if (reply?.event.kind !== "EntityOperationFailed") return;
      if (code) assert.equal(reply.event.failure.code, code);
      assert.match(reply.event.failure.message, message);
    });
  }

  test("destructOnExit deletes the state: an empty entity is Completed and keeps no document", () => {
    const out = batch([signaled("destroy")], { state: j(["x"]) });
    assert.deepEqual(out.document, {});
    assert.equal(out.checkpoint.instance.runtimeStatus, "Completed");
    assert.ok(Object.hasOwn(out.checkpoint.instance, "input"), "the stored document is replaced");
    assert.equal(out.checkpoint.instance.input, undefined);
  });

  test("signals to entities create their targets; a scheduled one becomes visible at its time", () => {
    const out = batch([signaled("signal", "hello")]);
    assert.deepEqual(
      out.checkpoint.messages.map((m) => [m.instanceId, m.event.kind, m.visibleAt, m.ensureTarget]),
      [
        ["@list@other", "EntityOperationSignaled", NOW.getTime(), { name: "@list", executionId: "entity" }],
        [
          "@list@later",
          "EntityOperationSignaled",
          NOW.getTime() + 60_000,
          { name: "@list", executionId: "entity" },
        ],
      ],
    );
    const later = out.checkpoint.messages[1]?.event;
    assert.equal(
      later?.kind === "EntityOperationSignaled" && later.scheduledTime,
      new Date(NOW.getTime() + 60_000).toISOString(),
    );
  });

  test("startNewOrchestration creates an instance with no parent and no conflict reply", () => {
    const out = batch([called("start")], { state: j(["x"]) });
    const [child] = out.checkpoint.children;
    assert.equal(child?.instanceId, "report-1");
    assert.equal(child?.name, "Report");
    assert.equal(child?.input, j(["x"]));
    assert.equal(child?.parent, undefined);
    assert.equal(child?.conflictReply, undefined);
    assert.equal(child?.started.kind === "ExecutionStarted" && child.started.executionId, child?.executionId);
    assert.equal(replies(out.checkpoint.messages)[0]?.[4], j("report-1"));
  });

  test("messages that are not entity requests are consumed and ignored", () => {
    const out = batch([makeEvent(NOW, { kind: "EventRaised", name: "x" }), signaled("append", "a")]);
    assert.deepEqual(state(out.document), ["a"]);
  });
});

describe("runEntityBatch: locks", () => {
  const twoEntities = ["@list@k", "@list@z"];

  test("a lock request locks the entity and travels on to the next entity of the lock set", () => {
    const out = batch([lockRequest("cs-1", twoEntities, 0)]);
    assert.deepEqual(out.document.lock, {
      criticalSectionId: "cs-1",
      ownerInstanceId: OWNER,
      ownerExecutionId: `${OWNER}-exec`,
      lockedAt: NOW.toISOString(),
    });
    assert.equal(
      out.checkpoint.instance.runtimeStatus,
      "Running",
      "a locked entity without state still exists",
    );
    const [forwarded] = out.checkpoint.messages;
    assert.equal(forwarded?.instanceId, "@list@z");
    assert.deepEqual(forwarded?.ensureTarget, { name: "@list", executionId: "entity" });
    assert.equal(forwarded?.event.kind === "EntityLockRequested" && forwarded.event.position, 1);
  });

  test("the last entity of the lock set grants the lock to the requesting execution", () => {
    const out = batch([lockRequest("cs-1", ["@list@a", ENTITY], 1)]);
    assert.deepEqual(replies(out.checkpoint.messages), [
      [OWNER, `${OWNER}-exec`, "EntityLockGranted", "cs-1", ["@list@a", ENTITY]],
    ]);
  });

  test("a lock request that does not name this entity at its position is ignored", () => {
    const out = batch([lockRequest("cs-1", ["@list@a", "@list@b"], 0)]);
    assert.deepEqual(out.document, {});
    assert.deepEqual(out.checkpoint.messages, []);
  });

  test("while locked, only the holder's calls run; everything else waits in arrival order", () => {
    const out = batch([
      lockRequest("cs-1", [ENTITY], 0),
      signaled("append", "queued-1"),
      called("append", "other", OTHER),
      called("append", "owner"),
      lockRequest("cs-2", [ENTITY], 0, OTHER),
      signaled("append", "queued-2"),
    ]);
    assert.deepEqual(state(out.document), ["owner"]);
    assert.equal(out.document.lock?.criticalSectionId, "cs-1");
    assert.deepEqual(
      out.document.queue?.map((e) => e.kind + (e.kind === "EntityLockRequested" ? "" : `:${e.input}`)),
      [
        'EntityOperationSignaled:"queued-1"',
        'EntityOperationCalled:"other"',
        "EntityLockRequested",
        'EntityOperationSignaled:"queued-2"',
      ],
    );
  });

  test("a release runs the queue in order until the next queued lock request takes the lock", () => {
    const locked: EntityDocument = {
      lock: { criticalSectionId: "cs-1", ownerInstanceId: OWNER, lockedAt: NOW.toISOString() },
      queue: [
        signaled("append", "1"),
        lockRequest("cs-2", [ENTITY], 0, OTHER),
        signaled("append", "2"),
        called("append", "b-call", OTHER),
      ],
    };
    const out = batch([unlock("cs-1"), signaled("append", "3")], locked);
    assert.deepEqual(state(out.document), ["1", "b-call"], "the new holder's call ran; the signals wait");
    assert.equal(out.document.lock?.ownerInstanceId, OTHER);
    assert.deepEqual(
      out.document.queue?.map((e) => (e.kind === "EntityOperationSignaled" ? e.input : e.kind)),
      [j("2"), j("3")],
    );
    assert.deepEqual(
      replies(out.checkpoint.messages).map((r) => r[2]),
      ["EntityLockGranted", "EntityOperationCompleted"],
    );
  });

  test("a release of another critical section changes nothing", () => {
    const locked: EntityDocument = {
      lock: { criticalSectionId: "cs-1", ownerInstanceId: OWNER, lockedAt: NOW.toISOString() },
      queue: [signaled("append", "1")],
    };
    const out = batch([unlock("cs-other")], locked);
    assert.deepEqual(out.document, locked);
    assert.deepEqual(parseEntityDocument(out.checkpoint.instance.input), locked);
  });
});
