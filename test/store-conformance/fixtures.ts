/**
 * Builders and helpers for the store conformance suite: instances, events, checkpoints, and a
 * harness that gives every test a fresh store. Everything goes through the Store interface only.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach } from "node:test";
import type { FailureDetails } from "../../src/core/errors.js";
import {
  type EventRaisedEvent,
  type ExecutionStartedEvent,
  type HistoryEvent,
  makeEvent,
  type ParentInfo,
  type RuntimeStatus,
  type TaskCompletedEvent,
  type TaskFailedEvent,
} from "../../src/core/events.js";
import type {
  ActivityWorkItem,
  Checkpoint,
  ChildInstance,
  InstanceUpdate,
  NewActivityTask,
  NewInstance,
  NewMessage,
  OrchestrationWorkItem,
  Store,
} from "../../src/store/store.js";

/** What a store factory returns. */
export interface StoreUnderTest {
  store: Store;
  cleanup: () => Promise<void>;
}

/** Makes a fresh, empty store for one test. */
export type MakeStore = () => Promise<StoreUnderTest>;

/** The store of the running test. */
export interface StoreHarness {
  readonly store: Store;
}

/** The default task hub of the suite. */
export const HUB = "hub-a";
/** A second hub, for isolation tests. */
export const OTHER_HUB = "hub-b";
/** The default orchestrator name. */
export const ORCH = "Orch";
/** The default activity name. */
export const ACT = "Act";
/** The default worker ID. */
export const WORKER = "worker-1";
/** A lease that never expires during a test. */
export const LONG_LEASE = 60_000;

/** Registers beforeEach/afterEach in the enclosing `describe` giving each test a fresh, open store. */
export function useStore(makeStore: MakeStore): StoreHarness {
  let current: StoreUnderTest | undefined;
  beforeEach(async () => {
    current = await makeStore();
    await current.store.open();
  });
  afterEach(async () => {
    const c = current;
    current = undefined;
    if (!c) return;
    try {
      await c.store.close();
    } finally {
      await c.cleanup();
    }
  });
  return {
    get store(): Store {
      assert.ok(current, "no store: the harness is used outside a test");
      return current.store;
    },
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const ISO = "2024-01-01T00:00:00.000Z";

/** An ExecutionStarted event. */
export function startedEvent(
  instanceId: string,
  executionId: string,
  fields: { name?: string; input?: string; parent?: ParentInfo } = {},
): ExecutionStartedEvent {
  return makeEvent<ExecutionStartedEvent>(ISO, {
    kind: "ExecutionStarted",
    name: fields.name ?? ORCH,
    instanceId,
    executionId,
    ...(fields.input === undefined ? {} : { input: fields.input }),
    ...(fields.parent === undefined ? {} : { parent: fields.parent }),
  });
}

/** A NewInstance with sensible defaults: name ORCH, execution "<id>-e1", visible now. */
export function newInstance(
  instanceId: string,
  fields: Partial<Omit<NewInstance, "instanceId" | "started">> = {},
): NewInstance {
  const now = Date.now();
  const executionId = fields.executionId ?? `${instanceId}-e1`;
  const name = fields.name ?? ORCH;
  const instance: NewInstance = {
    instanceId,
    name,
    executionId,
    createdAt: fields.createdAt ?? now,
    visibleAt: fields.visibleAt ?? now,
    started: startedEvent(instanceId, executionId, { name, input: fields.input, parent: fields.parent }),
  };
  if (fields.input !== undefined) instance.input = fields.input;
  if (fields.parent !== undefined) instance.parent = fields.parent;
  return instance;
}

/** A child instance with its conflict reply addressed to the parent. */
export function childInstance(
  parentId: string,
  parentExecutionId: string,
  childId: string,
  taskId = 1,
): ChildInstance {
  const parent: ParentInfo = {
    instanceId: parentId,
    executionId: parentExecutionId,
    name: ORCH,
    taskScheduledId: taskId,
  };
  return {
    ...newInstance(childId, { parent, input: '"child-input"' }),
    conflictReply: {
      instanceId: parentId,
      executionId: parentExecutionId,
      visibleAt: Date.now(),
      event: makeEvent(ISO, {
        kind: "SubOrchestrationInstanceFailed",
        taskScheduledId: taskId,
        failure: { name: "InstanceAlreadyExistsError", message: `'${childId}' exists` },
      }),
    },
  };
}

/** An EventRaised event. */
export function raisedEvent(name: string, input?: string): EventRaisedEvent {
  return makeEvent<EventRaisedEvent>(ISO, {
    kind: "EventRaised",
    name,
    ...(input === undefined ? {} : { input }),
  });
}

/** A message carrying an EventRaised event, visible at `visibleAt` (default now). */
export function eventMessage(
  instanceId: string,
  name: string,
  visibleAt = Date.now(),
  executionId?: string,
): NewMessage {
  const message: NewMessage = { instanceId, event: raisedEvent(name, `"${name}"`), visibleAt };
  if (executionId !== undefined) message.executionId = executionId;
  return message;
}

/** A TaskCompleted event. */
export function taskCompleted(taskScheduledId: number, result?: string): TaskCompletedEvent {
  return makeEvent<TaskCompletedEvent>(ISO, {
    kind: "TaskCompleted",
    taskScheduledId,
    ...(result === undefined ? {} : { result }),
  });
}

/** A TaskFailed event. */
export function taskFailed(taskScheduledId: number, failure: FailureDetails): TaskFailedEvent {
  return makeEvent<TaskFailedEvent>(ISO, { kind: "TaskFailed", taskScheduledId, failure });
}

/** Simple history events: OrchestratorStarted followed by `count` TaskScheduled events. */
export function someEvents(count: number, firstId = 0): HistoryEvent[] {
  const events: HistoryEvent[] = [makeEvent(ISO, { kind: "OrchestratorStarted" })];
  for (let i = 0; i < count; i++) {
    events.push(makeEvent(ISO, { kind: "TaskScheduled", eventId: firstId + i, name: ACT, input: `${i}` }));
  }
  return events;
}

/** An activity task to enqueue. */
export function activityTask(
  instanceId: string,
  executionId: string,
  taskId: number,
  name = ACT,
): NewActivityTask {
  return { instanceId, executionId, taskId, name, input: `{"n":${taskId}}`, attempt: 1 };
}

/** A checkpoint for a leased work item: consumes its messages, keeps it Running, appends nothing. */
export function checkpointFor(
  item: OrchestrationWorkItem,
  fields: Partial<Omit<Checkpoint, "instance">> & { instance?: Partial<InstanceUpdate> } = {},
): Checkpoint {
  const instance: InstanceUpdate = {
    executionId: item.instance.executionId,
    runtimeStatus: "Running",
    lastUpdatedAt: Date.now(),
    ...fields.instance,
  };
  return {
    history: fields.history ?? { mode: "append", events: [] },
    consumedMessageIds: fields.consumedMessageIds ?? item.messages.map((m) => m.id),
    instance,
    activities: fields.activities ?? [],
    messages: fields.messages ?? [],
    children: fields.children ?? [],
  };
}

/** Leases the next orchestration work item and asserts there is one. */
export async function leaseOrchestration(
  store: Store,
  hub = HUB,
  workerId = WORKER,
  leaseMs = LONG_LEASE,
  names: readonly string[] = [ORCH],
): Promise<OrchestrationWorkItem> {
  const item = await store.leaseNextOrchestration(hub, workerId, names, leaseMs);
  assert.ok(item, "expected an orchestration work item");
  return item;
}

/** Leases the next activity work item and asserts there is one. */
export async function leaseActivity(
  store: Store,
  hub = HUB,
  workerId = WORKER,
  leaseMs = LONG_LEASE,
  names: readonly string[] = [ACT],
): Promise<ActivityWorkItem> {
  const item = await store.leaseNextActivity(hub, workerId, names, leaseMs);
  assert.ok(item, "expected an activity work item");
  return item;
}

/** Creates an instance and, unless `status` is Pending, runs one step that sets `status`. */
export async function instanceWithStatus(
  store: Store,
  instanceId: string,
  status: RuntimeStatus,
  fields: Partial<Omit<Checkpoint, "instance">> & { hub?: string; instance?: Partial<InstanceUpdate> } = {},
): Promise<void> {
  const hub = fields.hub ?? HUB;
  await store.createInstance(hub, newInstance(instanceId));
  if (status === "Pending") return;
  const item = await store.leaseNextOrchestration(hub, WORKER, [ORCH], LONG_LEASE);
  assert.equal(item?.instance.instanceId, instanceId, "the new instance should be the one leased");
  const terminal = status === "Completed" || status === "Failed" || status === "Terminated";
  await store.commitOrchestration(
    item.lease,
    checkpointFor(item, {
      ...fields,
      instance: {
        runtimeStatus: status,
        ...(terminal ? { completedAt: Date.now() } : {}),
        ...fields.instance,
      },
    }),
  );
}

/** Asserts that `promise` rejects with a RefrainError of `code`. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected code ${code}, got ${String(err)}`);
    return true;
  });
}

/** Active and terminal statuses, for table-driven tests. */
export const ACTIVE_STATUSES: readonly RuntimeStatus[] = [
  "Pending",
  "Running",
  "Suspended",
  "ContinuedAsNew",
];
export const TERMINAL_STATUSES: readonly RuntimeStatus[] = ["Completed", "Failed", "Terminated"];
