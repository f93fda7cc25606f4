/**
 * Conformance: what entities need from a store. Messages that create their target row
 * (`ensureTarget`), from clients and inside checkpoints; children without a conflict reply; the
 * instance-kind filter; and the idle purge that never deletes a row a message is on its way to.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NewMessage } from "../../src/store/store.js";
import {
  checkpointFor,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseOrchestration,
  newInstance,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  WORKER,
} from "./fixtures.js";

const ENTITY_ROW = "@counter";
const TARGET = { name: ENTITY_ROW, executionId: "entity" };

/** A message to entity `@counter@<key>` that creates its row when missing. */
function entityMessage(key: string, name = "op", visibleAt = Date.now()): NewMessage {
  return { ...eventMessage(`@counter@${key}`, name, visibleAt), ensureTarget: TARGET };
}

/** Leases the entity with the oldest message, runs a step that sets `runtimeStatus`, and commits. */
async function stepEntity(
  h: StoreHarness,
  runtimeStatus: "Running" | "Completed",
  input?: string,
): Promise<string> {
  const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ENTITY_ROW]);
  await h.store.commitOrchestration(
    item.lease,
    checkpointFor(item, { instance: { runtimeStatus, input, lastUpdatedAt: Date.now() } }),
  );
  return item.instance.instanceId;
}

/** Declares the entity-support tests. */
export function entityStoreTests(h: StoreHarness): void {
  describe("entity support", () => {
    test("appendMessage with ensureTarget creates a missing row (Pending, no input) and queues the message", async () => {
      const before = Date.now();
      await h.store.appendMessage(HUB, entityMessage("a", "first"));
      const row = await h.store.getInstance(HUB, "@counter@a");
      assert.ok(row);
      assert.deepStrictEqual(
        [row.name, row.executionId, row.runtimeStatus, row.input, row.parent],
        [ENTITY_ROW, "entity", "Pending", undefined, undefined],
      );
      assert.ok(row.createdAt >= before && row.lastUpdatedAt === row.createdAt);
      await h.store.appendMessage(HUB, entityMessage("a", "second"));
      const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ENTITY_ROW]);
      assert.deepStrictEqual(
        item.messages.map((m) => m.event.kind === "EventRaised" && m.event.name),
        ["first", "second"],
      );
      assert.equal(item.messages[0]?.executionId, undefined);
    });

    test("ensureTarget leaves an existing row as it is", async () => {
      await h.store.appendMessage(HUB, entityMessage("b"));
      await stepEntity(h, "Running", '{"state":"1"}');
      const row = await h.store.getInstance(HUB, "@counter@b");
      await h.store.appendMessage(HUB, {
        ...entityMessage("b"),
        ensureTarget: { name: "@other", executionId: "x" },
      });
      assert.deepStrictEqual(await h.store.getInstance(HUB, "@counter@b"), row);
    });

    test("without ensureTarget a missing target is still InstanceNotFoundError", async () => {
      await rejectsWithCode(
        h.store.appendMessage(HUB, eventMessage("@counter@none", "x")),
        "INSTANCE_NOT_FOUND",
      );
      assert.equal(await h.store.getInstance(HUB, "@counter@none"), undefined);
    });

    test("a checkpoint's messages with ensureTarget create their targets in the same commit", async () => {
      await h.store.createInstance(HUB, newInstance("orch"));
      const item = await leaseOrchestration(h.store);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, {
          messages: [entityMessage("c", "one"), entityMessage("c", "two"), entityMessage("d")],
        }),
      );
      assert.equal((await h.store.getInstance(HUB, "@counter@c"))?.runtimeStatus, "Pending");
      assert.equal((await h.store.getInstance(HUB, "@counter@d"))?.name, ENTITY_ROW);
      const c = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ENTITY_ROW]);
      assert.equal(c.instance.instanceId, "@counter@c");
      assert.equal(c.messages.length, 2);
    });

    test("an entity's commit replaces its document and status", async () => {
      await h.store.appendMessage(HUB, entityMessage("e"));
      await stepEntity(h, "Running", '{"state":"5"}');
      const row = await h.store.getInstance(HUB, "@counter@e");
      assert.deepStrictEqual([row?.runtimeStatus, row?.input], ["Running", '{"state":"5"}']);
      await h.store.appendMessage(HUB, entityMessage("e"));
      await stepEntity(h, "Completed", undefined);
      const emptied = await h.store.getInstance(HUB, "@counter@e");
      assert.deepStrictEqual([emptied?.runtimeStatus, emptied?.input], ["Completed", undefined]);
    });

    test("a child without a conflict reply whose ID is taken is skipped silently", async () => {
      await instanceWithStatus(h.store, "taken", "Running");
      const before = await h.store.getInstance(HUB, "taken");
      await h.store.appendMessage(HUB, entityMessage("f"));
      const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ENTITY_ROW]);
      await h.store.commitOrchestration(
        item.lease,
        checkpointFor(item, { children: [newInstance("taken"), newInstance("fresh")] }),
      );
      assert.deepStrictEqual(await h.store.getInstance(HUB, "taken"), before);
      assert.equal((await h.store.getInstance(HUB, "fresh"))?.runtimeStatus, "Pending");
      assert.equal(await h.store.leaseNextOrchestration(HUB, WORKER, [ENTITY_ROW], LONG_LEASE), undefined);
    });

    test("instanceKind selects orchestrations or entities (IDs beginning with '@')", async () => {
      await h.store.createInstance(HUB, newInstance("plain"));
      await h.store.createInstance(HUB, newInstance("at@middle"));
      await h.store.appendMessage(HUB, entityMessage("g"));
      const ids = async (instanceKind?: "orchestration" | "entity") =>
        (await h.store.listInstances(HUB, instanceKind ? { instanceKind } : {})).instances
          .map((r) => r.instanceId)
          .sort();
      assert.deepStrictEqual(await ids(), ["@counter@g", "at@middle", "plain"]);
      assert.deepStrictEqual(await ids("orchestration"), ["at@middle", "plain"]);
      assert.deepStrictEqual(await ids("entity"), ["@counter@g"]);
      await rejectsWithCode(
        h.store.listInstances(HUB, { instanceKind: "both" as "entity" }),
        "INVALID_ARGUMENT",
      );
    });

    test("orchestration and entity workers each find their own messages, whatever is older", async () => {
      const t0 = Date.now() - 10_000;
      // Older entity messages ahead of the orchestration's, and the other way round.
      await h.store.appendMessage(HUB, entityMessage("a", "op", t0));
      await h.store.createInstance(HUB, newInstance("orch-1", { visibleAt: t0 + 1000 }));
      await h.store.appendMessage(HUB, entityMessage("b", "op", t0 + 2000));
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH], []), t0 + 1000);
      assert.equal(await h.store.nextWakeUp(HUB, [ENTITY_ROW], []), t0);
      assert.equal(await h.store.nextWakeUp(HUB, [ORCH, ENTITY_ROW], []), t0);
      assert.equal(await h.store.nextWakeUp(HUB, [], []), undefined);
      const orchestrations = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 10 });
      assert.deepStrictEqual(
        orchestrations.map((i) => i.instance.instanceId),
        ["orch-1"],
      );
      const entities = await h.store.leaseOrchestrations(HUB, WORKER, [ENTITY_ROW], LONG_LEASE, { max: 10 });
      assert.deepStrictEqual(
        entities.map((i) => i.instance.instanceId),
        ["@counter@a", "@counter@b"],
      );
      // Leased, the messages are left out: they return through their holder's commit or, should
      // it die, through polling once its lease has expired.
      assert.equal(await h.store.nextWakeUp(HUB, [ENTITY_ROW], []), undefined);
    });

    test("a worker serving both kinds leases oldest message first across them", async () => {
      const t0 = Date.now() - 10_000;
      await h.store.createInstance(HUB, newInstance("orch-2", { visibleAt: t0 + 1000 }));
      await h.store.appendMessage(HUB, entityMessage("late", "op", t0 + 2000));
      await h.store.appendMessage(HUB, entityMessage("early", "op", t0));
      const items = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH, ENTITY_ROW], LONG_LEASE, {
        max: 2,
      });
      assert.deepStrictEqual(
        items.map((i) => i.instance.instanceId),
        ["@counter@early", "orch-2"],
      );
    });

    test("an idle purge deletes only empty entities with no message and no live lease", async () => {
      const other = { name: "@other", executionId: "entity" };
      const emptied = async (message: NewMessage, name: string) => {
        await h.store.appendMessage(HUB, message);
        const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [name]);
        await h.store.commitOrchestration(
          item.lease,
          checkpointFor(item, { instance: { runtimeStatus: "Completed" } }),
        );
      };
      await emptied(entityMessage("idle"), ENTITY_ROW);
      await emptied(entityMessage("waiting"), ENTITY_ROW);
      const leasedMessage = { ...eventMessage("@other@leased", "op"), ensureTarget: other };
      await emptied(leasedMessage, "@other");
      await h.store.appendMessage(HUB, entityMessage("alive"));
      await stepEntity(h, "Running", '{"state":"1"}');
      await h.store.appendMessage(HUB, entityMessage("waiting", "pending"));
      await h.store.appendMessage(HUB, leasedMessage);
      const held = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, ["@other"]);
      const selector = { filter: { instanceKind: "entity" as const, runtimeStatus: ["Completed" as const] } };
      assert.equal(await h.store.purgeInstances(HUB, selector, { idleOnly: true }), 1);
      const remaining = (await h.store.listInstances(HUB, { instanceKind: "entity" })).instances
        .map((r) => r.instanceId)
        .sort();
      assert.deepStrictEqual(remaining, ["@counter@alive", "@counter@waiting", "@other@leased"]);
      await h.store.commitOrchestration(
        held.lease,
        checkpointFor(held, { instance: { runtimeStatus: "Completed" } }),
      );
      assert.equal(
        await h.store.purgeInstances(HUB, { instanceIds: ["@other@leased"] }, { idleOnly: true }),
        1,
      );
      assert.equal(await h.store.getInstance(HUB, "@other@leased"), undefined);
    });

    test("idle purge by IDs skips an instance that has an inbox message", async () => {
      await h.store.appendMessage(HUB, entityMessage("m"));
      await stepEntity(h, "Completed");
      await h.store.appendMessage(HUB, entityMessage("m", "late"));
      assert.equal(await h.store.purgeInstances(HUB, { instanceIds: ["@counter@m"] }, { idleOnly: true }), 0);
      const item = await leaseOrchestration(h.store, HUB, WORKER, LONG_LEASE, [ENTITY_ROW]);
      assert.deepStrictEqual(
        item.messages.map((m) => m.event.kind === "EventRaised" && m.event.name),
        ["late"],
        "the message and its entity survived",
      );
      assert.equal(
        await h.store.purgeInstances(HUB, { instanceIds: ["@counter@m"] }),
        1,
        "a plain purge deletes it",
      );
      assert.equal(
        await h.store.leaseNextOrchestration(HUB, WORKER, [ORCH, ENTITY_ROW], LONG_LEASE),
        undefined,
      );
    });
  });
}
