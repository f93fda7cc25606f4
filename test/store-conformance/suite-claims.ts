/**
 * Conformance: commits that lease the activity tasks they create to the committing worker
 * (`ActivityClaim`), activity completions that commit the instance's following step in the
 * result's place when, and only when, the instance is exactly as the step assumed, and creations
 * that commit the instance's first step.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeEvent } from "../../src/core/events.js";
import type {
  ActivityClaim,
  ActivityWorkItem,
  Checkpoint,
  FollowingStep,
  Store,
} from "../../src/store/store.js";
import {
  ACT,
  activityTask,
  checkpointFor,
  childInstance,
  eventMessage,
  HUB,
  instanceWithStatus,
  LONG_LEASE,
  leaseActivity,
  newInstance,
  ORCH,
  rejectsWithCode,
  type StoreHarness,
  someEvents,
  startedEvent,
  taskCompleted,
  WORKER,
} from "./fixtures.js";

const ISO = "2024-01-01T00:00:00.000Z";
const OTHER_ACT = "OtherAct";

/** A claim of up to `max` tasks of ACT for WORKER. */
function claimOf(max: number, names: readonly string[] = [ACT]): ActivityClaim {
  return { workerId: WORKER, names, leaseMs: LONG_LEASE, max };
}

/**
 * Instance `id`, Running, whose history is OrchestratorStarted + TaskScheduled(0) (2 events),
 * with its task 0 leased by WORKER.
 */
async function runningWithTask(store: Store, id: string): Promise<ActivityWorkItem> {
  await instanceWithStatus(store, id, "Running", {
    history: { mode: "append", events: someEvents(1) },
    activities: [activityTask(id, `${id}-e1`, 0)],
  });
  return leaseActivity(store);
}

/** The step that consumes task 0's result and schedules task 1 (claimable), seen at `historyLength`. */
function stepAfterTask0(id: string, fields: Partial<Omit<FollowingStep, "checkpoint">> = {}): FollowingStep {
  return {
    executionId: `${id}-e1`,
    runtimeStatus: "Running",
    historyLength: 2,
    ...fields,
    checkpoint: {
      history: {
        mode: "append",
        events: [
          makeEvent(ISO, { kind: "OrchestratorStarted" }),
          taskCompleted(0, '"r0"'),
          makeEvent(ISO, { kind: "TaskScheduled", eventId: 1, name: ACT, input: "1" }),
        ],
      },
      consumedMessageIds: [],
      instance: { executionId: `${id}-e1`, runtimeStatus: "Running", lastUpdatedAt: Date.now() },
      activities: [activityTask(id, `${id}-e1`, 1)],
      messages: [],
      children: [],
    },
  };
}

/** The first step of instance `id`: started, Running, scheduling `Act` task 0 and `OtherAct` task 1. */
function firstStepOf(id: string): Checkpoint {
  return {
    history: {
      mode: "append",
      events: [
        makeEvent(ISO, { kind: "OrchestratorStarted" }),
        startedEvent(id, `${id}-e1`),
        makeEvent(ISO, { kind: "TaskScheduled", eventId: 0, name: ACT, input: "0" }),
        makeEvent(ISO, { kind: "TaskScheduled", eventId: 1, name: OTHER_ACT, input: "1" }),
      ],
    },
    consumedMessageIds: [],
    instance: { executionId: `${id}-e1`, runtimeStatus: "Running", lastUpdatedAt: Date.now() },
    activities: [activityTask(id, `${id}-e1`, 0), activityTask(id, `${id}-e1`, 1, OTHER_ACT)],
    messages: [],
    children: [],
  };
}

/** Declares the claim, following-step and first-step tests. */
export function claimTests(h: StoreHarness): void {
  describe("claimed activity tasks and following steps", () => {
    test("a commit claims up to max new tasks of the claimed names, leased to the worker", async () => {
      for (const id of ["p", "q"]) await h.store.createInstance(HUB, newInstance(id));
      const items = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 2 });
      const byId = new Map(items.map((item) => [item.instance.instanceId, item]));
      const p = byId.get("p")!;
      const q = byId.get("q")!;
      const outcomes = await h.store.commitOrchestrations(
        HUB,
        [
          {
            lease: p.lease,
            checkpoint: checkpointFor(p, {
              activities: [
                activityTask("p", "p-e1", 0),
                activityTask("p", "p-e1", 1, OTHER_ACT),
                activityTask("p", "p-e1", 2),
              ],
            }),
          },
          { lease: q.lease, checkpoint: checkpointFor(q, { activities: [activityTask("q", "q-e1", 0)] }) },
        ],
        claimOf(2),
      );
      const [po, qo] = outcomes;
      assert.ok(po?.committed && qo?.committed);
      assert.deepStrictEqual(
        po.claimed?.map((c) => [c.task.instanceId, c.task.taskId, c.task.name, c.task.deliveryCount]),
        [
          ["p", 0, ACT, 1],
          ["p", 2, ACT, 1],
        ],
      );
      assert.equal(qo.claimed?.length ?? 0, 0, "the budget of 2 is spent by p");
      for (const c of po.claimed ?? []) {
        assert.equal(c.lease.workerId, WORKER);
        assert.ok(c.lease.expiresAt > Date.now() + LONG_LEASE / 2, "the claim's lease length");
        assert.equal(c.task.input, `{"n":${c.task.taskId}}`);
      }
      // Only the unclaimed tasks are left for others.
      const rest = await h.store.leaseActivities(HUB, "other", [ACT, OTHER_ACT], LONG_LEASE, 10);
      assert.deepStrictEqual(rest.map((r) => `${r.task.instanceId}:${r.task.taskId}`).sort(), ["p:1", "q:0"]);
      // A claimed task completes with its lease like a leased one.
      await h.store.completeActivity(po.claimed[0]!.lease, taskCompleted(0, '"done"'));
      const [next] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
      assert.deepStrictEqual(
        next?.messages.map((m) => m.event.kind),
        ["TaskCompleted"],
      );
    });

    test("no claim, max 0 or other names claim nothing; a bad claim is INVALID_ARGUMENT", async () => {
      for (const [i, claim] of [undefined, claimOf(0), claimOf(5, ["Nothing"])].entries()) {
        const id = `n${i}`;
        await h.store.createInstance(HUB, newInstance(id));
        const [item] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
        const [outcome] = await h.store.commitOrchestrations(
          HUB,
          [
            {
              lease: item!.lease,
              checkpoint: checkpointFor(item!, { activities: [activityTask(id, `${id}-e1`, 0)] }),
            },
          ],
          claim,
        );
        assert.ok(outcome?.committed);
        assert.equal(outcome.claimed?.length ?? 0, 0, `claim ${i}`);
      }
      await h.store.createInstance(HUB, newInstance("bad"));
      const [item] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
      const commit = {
        lease: item!.lease,
        checkpoint: checkpointFor(item!, { activities: [activityTask("bad", "bad-e1", 0)] }),
      };
      for (const bad of [claimOf(-1), claimOf(1.5), { ...claimOf(1), leaseMs: 0 }]) {
        await rejectsWithCode(h.store.commitOrchestrations(HUB, [commit], bad), "INVALID_ARGUMENT");
      }
      assert.equal((await h.store.getInstance(HUB, "bad"))?.runtimeStatus, "Pending", "nothing committed");
      assert.ok((await h.store.commitOrchestrations(HUB, [commit]))[0]?.committed, "the lease still holds");
    });

    test("a completion commits its following step in the result's place, claiming the step's tasks", async () => {
      const task = await runningWithTask(h.store, "f");
      const [outcome] = await h.store.completeActivities(
        HUB,
        [{ lease: task.lease, result: taskCompleted(0, '"r0"'), next: stepAfterTask0("f") }],
        claimOf(4),
      );
      assert.ok(outcome?.committed);
      assert.equal(outcome.stepped, true);
      assert.deepStrictEqual(
        outcome.claimed?.map((c) => [c.task.instanceId, c.task.taskId]),
        [["f", 1]],
      );
      const history = await h.store.getHistory(HUB, "f");
      assert.deepStrictEqual(
        history.map((e) => e.kind),
        ["OrchestratorStarted", "TaskScheduled", "OrchestratorStarted", "TaskCompleted", "TaskScheduled"],
      );
      assert.deepStrictEqual(
        await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 }),
        [],
        "the result was not queued",
      );
      assert.deepStrictEqual(await h.store.leaseActivities(HUB, "other", [ACT], LONG_LEASE, 5), []);
    });

    test("a following step commits only when the instance is exactly as the step saw it", async () => {
      const cases: [string, (store: Store, id: string) => Promise<Partial<FollowingStep>>][] = [
        ["the history is longer", async () => ({ historyLength: 1 })],
        ["another execution", async (_s, id) => ({ executionId: `${id}-e0` })],
        ["another status", async () => ({ runtimeStatus: "Suspended" })],
        [
          "a visible message waits",
          async (store, id) => {
            await store.appendMessage(HUB, eventMessage(id, "first"));
            return {};
          },
        ],
        [
          "another worker holds the lease",
          async (store, id) => {
            await store.appendMessage(HUB, eventMessage(id, "first"));
            const [item] = await store.leaseOrchestrations(HUB, "other", [ORCH], LONG_LEASE, { max: 1 });
            assert.equal(item?.instance.instanceId, id);
            return {};
          },
        ],
      ];
      for (const [i, [what, arrange]] of cases.entries()) {
        const id = `c${i}`;
        const task = await runningWithTask(h.store, id);
        const fields = await arrange(h.store, id);
        const [outcome] = await h.store.completeActivities(
          HUB,
          [{ lease: task.lease, result: taskCompleted(0, '"r0"'), next: stepAfterTask0(id, fields) }],
          claimOf(4),
        );
        assert.ok(outcome?.committed, what);
        assert.equal(outcome.stepped, false, what);
        assert.equal(outcome.claimed?.length ?? 0, 0, `${what}: nothing claimed`);
        assert.equal((await h.store.getHistory(HUB, id)).length, 2, `${what}: history unchanged`);
        assert.deepStrictEqual(await h.store.leaseActivities(HUB, "other", [ACT], LONG_LEASE, 5), [], what);
        const leased = await h.store.leaseOrchestrations(HUB, "reader", [ORCH], LONG_LEASE, { max: 10 });
        const mine = leased.find((item) => item.instance.instanceId === id);
        if (mine) {
          assert.ok(
            mine.messages.some((m) => m.event.kind === "TaskCompleted"),
            `${what}: the result was queued`,
          );
          await h.store.commitOrchestration(mine.lease, checkpointFor(mine));
        } else {
          assert.equal(what, "another worker holds the lease", "only a leased instance is not leasable");
        }
      }
    });

    test("a message not yet visible (a timer) does not hold a following step back", async () => {
      const task = await runningWithTask(h.store, "t");
      await h.store.appendMessage(HUB, eventMessage("t", "later", Date.now() + 60_000));
      const [outcome] = await h.store.completeActivities(HUB, [
        { lease: task.lease, result: taskCompleted(0, '"r0"'), next: stepAfterTask0("t") },
      ]);
      assert.ok(outcome?.committed && outcome.stepped);
      assert.equal(outcome.claimed?.length ?? 0, 0, "no claim, nothing claimed");
      assert.equal((await h.store.getHistory(HUB, "t")).length, 5);
      const [task1] = await h.store.leaseActivities(HUB, "other", [ACT], LONG_LEASE, 5);
      assert.equal(task1?.task.taskId, 1, "the unclaimed task is there for anyone");
    });

    test("a completion whose lease is lost commits neither its result nor its step", async () => {
      const task = await runningWithTask(h.store, "l");
      await h.store.abandonActivity(task.lease);
      const [outcome] = await h.store.completeActivities(HUB, [
        { lease: task.lease, result: taskCompleted(0, '"r0"'), next: stepAfterTask0("l") },
      ]);
      assert.equal(outcome?.committed, false);
      assert.equal((await h.store.getHistory(HUB, "l")).length, 2);
      assert.deepStrictEqual(
        await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 }),
        [],
      );
    });

    test("with onCommitted, a creation's claimed tasks arrive once: through it or in the result", async () => {
      const told: ActivityWorkItem[][] = [];
      const returned = await h.store.createInstance(HUB, newInstance("s"), {
        firstStep: firstStepOf("s"),
        claim: claimOf(5),
        onCommitted: (claimed) => told.push(claimed),
      });
      assert.ok(told.length <= 1, "told at most once");
      const all = [...(told[0] ?? []), ...returned];
      assert.deepStrictEqual(
        all.map((c) => [c.task.instanceId, c.task.taskId, c.lease.workerId]),
        [["s", 0, WORKER]],
      );
      if (told.length === 1) assert.deepStrictEqual(returned, []);
      await rejectsWithCode(
        h.store.createInstance(HUB, newInstance("s"), {
          firstStep: firstStepOf("s"),
          claim: claimOf(5),
          onCommitted: () => assert.fail("a failed creation must not be announced"),
        }),
        "INSTANCE_ALREADY_EXISTS",
      );
    });

    test("a creation with a first step commits it instead of queueing the start message", async () => {
      const announced: string[] = [];
      const unsubscribe = h.store.subscribe(HUB, (n) => {
        if ("instanceId" in n && n.instanceId === "s")
          announced.push(n.kind === "instance-updated" ? n.runtimeStatus : n.kind);
      });
      const claimed = await h.store.createInstance(HUB, newInstance("s"), {
        firstStep: firstStepOf("s"),
        claim: claimOf(5),
      });
      unsubscribe();
      assert.ok(announced.includes("Running"), `the step's status is announced: ${announced}`);
      assert.ok(
        !announced.includes("orchestration-work"),
        `no start message, so no work announced: ${announced}`,
      );
      assert.deepStrictEqual(
        claimed.map((c) => [c.task.instanceId, c.task.taskId, c.lease.workerId, c.task.deliveryCount]),
        [["s", 0, WORKER, 1]],
      );
      const row = await h.store.getInstance(HUB, "s");
      assert.equal(row?.runtimeStatus, "Running");
      assert.equal(row?.executionId, "s-e1");
      assert.deepStrictEqual(
        (await h.store.getHistory(HUB, "s")).map((e) => e.kind),
        ["OrchestratorStarted", "ExecutionStarted", "TaskScheduled", "TaskScheduled"],
      );
      assert.deepStrictEqual(
        await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 5 }),
        [],
        "no start message",
      );
      const [other] = await h.store.leaseActivities(HUB, "other", [ACT, OTHER_ACT], LONG_LEASE, 5);
      assert.equal(other?.task.name, OTHER_ACT, "the unclaimed task is queued");
      assert.deepStrictEqual(
        await h.store.createInstance(HUB, newInstance("plain")),
        [],
        "no step, no claims",
      );
    });

    test("a creation with a first step conflicts like any other, and replaces a terminal instance", async () => {
      await instanceWithStatus(h.store, "busy", "Running", {
        history: { mode: "append", events: someEvents(1) },
      });
      await rejectsWithCode(
        h.store.createInstance(HUB, newInstance("busy"), { firstStep: firstStepOf("busy") }),
        "INSTANCE_ALREADY_EXISTS",
      );
      assert.equal((await h.store.getHistory(HUB, "busy")).length, 2, "nothing written");
      await instanceWithStatus(h.store, "done", "Completed", {
        history: { mode: "append", events: someEvents(2) },
      });
      await h.store.createInstance(HUB, newInstance("done"), { firstStep: firstStepOf("done") });
      assert.equal((await h.store.getInstance(HUB, "done"))?.runtimeStatus, "Running");
      assert.equal((await h.store.getHistory(HUB, "done")).length, 4, "only the new execution's step");
    });

    test("in one batch, each completion steps or queues on its own; claims stay within max", async () => {
      // b0, b3, b5, b6: plain steps that match; b1: a step that saw a shorter history; b2: a step
      // that also starts a child (committed apart from the plain ones on some stores); b4: no step.
      const ids = ["b0", "b1", "b2", "b3", "b4", "b5", "b6"];
      const tasks: ActivityWorkItem[] = [];
      for (const id of ids) tasks.push(await runningWithTask(h.store, id));
      const steps: (FollowingStep | undefined)[] = [
        stepAfterTask0("b0"),
        stepAfterTask0("b1", { historyLength: 1 }),
        (() => {
          const step = stepAfterTask0("b2");
          step.checkpoint.children = [childInstance("b2", "b2-e1", "b2-kid")];
          return step;
        })(),
        stepAfterTask0("b3"),
        undefined,
        stepAfterTask0("b5"),
        stepAfterTask0("b6"),
      ];
      const outcomes = await h.store.completeActivities(
        HUB,
        tasks.map((t, i) => ({
          lease: t.lease,
          result: taskCompleted(0, '"r0"'),
          ...(steps[i] ? { next: steps[i] } : {}),
        })),
        claimOf(2),
      );
      assert.deepStrictEqual(
        outcomes.map((o) => o.committed && o.stepped),
        [true, false, true, true, undefined, true, true],
      );
      const claimed = outcomes.flatMap((o) => (o.committed ? (o.claimed ?? []) : []));
      assert.equal(claimed.length, 2, "the claim's max, over the whole batch");
      for (const [i, o] of outcomes.entries()) {
        for (const c of o.committed ? (o.claimed ?? []) : []) assert.equal(c.task.instanceId, ids[i]);
      }
      const lengths = await Promise.all(ids.map(async (id) => (await h.store.getHistory(HUB, id)).length));
      assert.deepStrictEqual(lengths, [5, 2, 5, 5, 2, 5, 5]);
      assert.equal(
        (await h.store.getInstance(HUB, "b2-kid"))?.runtimeStatus,
        "Pending",
        "the child was created",
      );
      const unclaimed = await h.store.leaseActivities(HUB, "other", [ACT], LONG_LEASE, 10);
      assert.equal(unclaimed.length, 3, "the new tasks not claimed are visible");
      const leased = await h.store.leaseOrchestrations(HUB, "reader", [ORCH], LONG_LEASE, { max: 10 });
      assert.deepStrictEqual(
        leased
          .filter((item) => item.messages.some((m) => m.event.kind === "TaskCompleted"))
          .map((item) => item.instance.instanceId)
          .sort(),
        ["b1", "b4"],
        "the results that did not step were queued",
      );
    });

    test("two completions for one instance: only a step that still matches commits", async () => {
      await instanceWithStatus(h.store, "two", "Running", {
        history: { mode: "append", events: someEvents(2) },
        activities: [0, 1].map((n) => activityTask("two", "two-e1", n)),
      });
      const tasks = await h.store.leaseActivities(HUB, WORKER, [ACT], LONG_LEASE, 2);
      const step = stepAfterTask0("two", { historyLength: 3 });
      const outcomes = await h.store.completeActivities(
        HUB,
        tasks.map((t) => ({ lease: t.lease, result: taskCompleted(t.task.taskId), next: step })),
      );
      assert.deepStrictEqual(
        outcomes.map((o) => o.committed && o.stepped),
        [true, false],
      );
      assert.equal((await h.store.getHistory(HUB, "two")).length, 6);
      const [item] = await h.store.leaseOrchestrations(HUB, WORKER, [ORCH], LONG_LEASE, { max: 1 });
      assert.deepStrictEqual(
        item?.messages.map((m) => (m.event.kind === "TaskCompleted" ? m.event.taskScheduledId : -1)),
        [1],
      );
    });
  });
}
