/**
 * What no crash may break, checked after a crash test: every output equals the oracle's, every
 * scheduled step has exactly one completion and nothing was scheduled twice, the raw history
 * table (read directly, SQLite or PostgreSQL) has unique, contiguous sequence numbers, no work is left behind in the store, and every
 * scheduled activity ran at least once (the counts file the workers append to).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import type { DurableClient, HistoryEventView, OrchestrationStatus } from "../../src/index.js";
import { type RawStoreReport, rawStore } from "./raw-store.js";
import type { StoreSpec } from "./store-spec.js";
import {
  EXPECTED_SCHEDULED,
  expectedOutput,
  type PlannedInstance,
  type ScheduledCounts,
} from "./workload.js";

/** Scheduling event kinds, each with the completion kinds that answer it and the field pointing back. */
const COMPLETIONS: Readonly<Record<string, { kinds: readonly string[]; field: string }>> = {
  TaskScheduled: { kinds: ["TaskCompleted", "TaskFailed"], field: "taskScheduledId" },
  TimerCreated: { kinds: ["TimerFired"], field: "timerId" },
  SubOrchestrationInstanceCreated: {
    kinds: ["SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"],
    field: "taskScheduledId",
  },
};

/**
 * Problems in one finished execution's history: a scheduling event (TaskScheduled, TimerCreated,
 * SubOrchestrationInstanceCreated) without exactly one completion, a completion without its
 * scheduling event, a repeated eventId, or not exactly one ExecutionStarted and ExecutionCompleted.
 */
export function historyProblems(instanceId: string, history: readonly HistoryEventView[]): string[] {
  const problems: string[] = [];
  const scheduled = new Map<number, string>();
  const completions = new Map<number, number>();
  for (const event of history) {
    const rule = COMPLETIONS[event.kind];
    if (!rule) continue;
    if (scheduled.has(event.eventId))
      problems.push(`${instanceId}: eventId ${event.eventId} scheduled twice`);
    scheduled.set(event.eventId, event.kind);
    completions.set(event.eventId, 0);
  }
  for (const event of history) {
    for (const [schedulingKind, rule] of Object.entries(COMPLETIONS)) {
      if (!rule.kinds.includes(event.kind)) continue;
      const id = event[rule.field] as number;
      if (scheduled.get(id) !== schedulingKind) {
        problems.push(`${instanceId}: ${event.kind} for ${rule.field} ${id} has no ${schedulingKind}`);
      } else {
        completions.set(id, (completions.get(id) ?? 0) + 1);
      }
    }
  }
  for (const [id, count] of completions) {
    if (count !== 1) problems.push(`${instanceId}: ${scheduled.get(id)} ${id} has ${count} completions`);
  }
  for (const kind of ["ExecutionStarted", "ExecutionCompleted"]) {
    const n = history.filter((e) => e.kind === kind).length;
    if (n !== 1) problems.push(`${instanceId}: ${n} ${kind} events`);
  }
  return problems;
}

/** How many activities, timers and sub-orchestrations a history schedules. */
export function countScheduled(history: readonly HistoryEventView[]): ScheduledCounts {
  const count = (kind: string) => history.filter((e) => e.kind === kind).length;
  return {
    activities: count("TaskScheduled"),
    timers: count("TimerCreated"),
    children: count("SubOrchestrationInstanceCreated"),
  };
}

/** Activity executions per idempotency key, from the counts file the workers append to. */
export function readExecutionCounts(countsFile: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(countsFile)) return counts;
  for (const line of readFileSync(countsFile, "utf8").split("\n")) {
    if (line !== "") counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return counts;
}

/** The idempotency keys of the activities a history scheduled. */
function scheduledActivityKeys(instanceId: string, history: readonly HistoryEventView[]): string[] {
  const started = history.find((e) => e.kind === "ExecutionStarted");
  const executionId = started?.executionId as string;
  return history
    .filter((e) => e.kind === "TaskScheduled")
    .map((e) => `${instanceId}:${executionId}:${e.eventId}`);
}

/** What `verifyRecovery` found, for the test's diagnostics. */
export interface RecoveryReport {
  /** Instances checked, sub-orchestrations included. */
  instances: number;
  activitiesScheduled: number;
  activityExecutions: number;
  /** Idempotency keys of activities that ran more than once (at-least-once redeliveries). */
  redelivered: string[];
  raw: RawStoreReport;
}

async function statusWithHistory(client: DurableClient, instanceId: string): Promise<OrchestrationStatus> {
  const status = await client.getStatus(instanceId, { showHistory: true, showHistoryOutput: true });
  assert.ok(status, `instance ${instanceId} not found`);
  return status;
}

/**
 * Asserts everything a crash must not break for `planned` (and their sub-orchestrations), reading
 * through `client`, the raw tables of `store` (the store `client` uses) and the counts file.
 */
export async function verifyRecovery(
  client: DurableClient,
  planned: readonly PlannedInstance[],
  paths: { store: StoreSpec; countsFile: string },
): Promise<RecoveryReport> {
  const problems: string[] = [];
  const scheduledKeys: string[] = [];
  const check = (instanceId: string, kind: keyof typeof EXPECTED_SCHEDULED, status: OrchestrationStatus) => {
    const history = status.history ?? [];
    problems.push(...historyProblems(instanceId, history));
    const counts = countScheduled(history);
    if (!isDeepStrictEqual(counts, EXPECTED_SCHEDULED[kind])) {
      problems.push(
        `${instanceId}: scheduled ${JSON.stringify(counts)}, expected ${JSON.stringify(EXPECTED_SCHEDULED[kind])}`,
      );
    }
    scheduledKeys.push(...scheduledActivityKeys(instanceId, history));
    return history;
  };
  let instances = 0;
  for (const { instanceId, kind, input } of planned) {
    const status = await statusWithHistory(client, instanceId);
    assert.equal(
      status.runtimeStatus,
      "Completed",
      `${instanceId}: ${JSON.stringify(status.failureDetails)}`,
    );
    assert.deepEqual(status.output, expectedOutput(kind, input), `output of ${instanceId}`);
    const history = check(instanceId, kind, status);
    instances++;
    if (kind === "event") {
      const raised = history.filter((e) => e.kind === "EventRaised").length;
      if (raised !== 1) problems.push(`${instanceId}: ${raised} EventRaised events`);
    }
    for (const created of history.filter((e) => e.kind === "SubOrchestrationInstanceCreated")) {
      const childId = created.instanceId as string;
      const child = await statusWithHistory(client, childId);
      assert.equal(child.runtimeStatus, "Completed", `child ${childId}`);
      check(childId, "child", child);
      instances++;
    }
  }
  assert.deepEqual(problems, [], "history invariants");

  const raw = await rawStore(paths.store).report();
  assert.deepEqual(raw.problems, [], "raw history sequence numbers");
  assert.equal(raw.executions, instances, "one stored execution per instance");
  assert.equal(raw.leftoverTasks, 0, "activity tasks left in the store");
  assert.equal(raw.leftoverMessages, 0, "inbox messages left in the store");

  const executions = readExecutionCounts(paths.countsFile);
  const never = scheduledKeys.filter((key) => !executions.has(key));
  assert.deepEqual(never, [], "scheduled activities that never ran to the end");
  const known = new Set(scheduledKeys);
  const unknown = [...executions.keys()].filter((key) => !known.has(key));
  assert.deepEqual(unknown, [], "activity executions for tasks no history scheduled");
  return {
    instances,
    activitiesScheduled: scheduledKeys.length,
    activityExecutions: [...executions.values()].reduce((a, b) => a + b, 0),
    redelivered: [...executions].filter(([, n]) => n > 1).map(([key]) => key),
    raw,
  };
}
