/**
 * One orchestrator step, end to end and still pure: from a leased instance (row, history, inbox
 * messages) to the checkpoint that records it. Decides which messages apply, runs the replay
 * engine, has the checkpoint builder turn actions into history events and outbound work, and
 * handles rewind, recursive termination and lock grants that arrive too late.
 */
import { CheckpointBuilder } from "./checkpoint-builder.js";
import { unlockMessage } from "./entity-messages.js";
import { type ExecutionStartedEvent, type HistoryEvent, isTerminalStatus, makeEvent } from "./events.js";
import type { Checkpoint, InboxMessage, InstanceRecord, NewMessage } from "./records.js";
import {
  type ExecutionResult,
  type ExecutorOptions,
  OrchestrationExecutor,
  type OrchestratorFunction,
} from "./replay.js";
import { rewindHistory } from "./rewind.js";

/** Everything one step needs. */
export interface StepInput {
  instance: InstanceRecord;
  history: readonly HistoryEvent[];
  messages: readonly InboxMessage[];
  /** The step's time: becomes `currentUtcDateTime` and every new event's timestamp. */
  now: Date;
  /** Source of fresh execution IDs (continue-as-new, sub-orchestrations). */
  newExecutionId: () => string;
}

/** The step's checkpoint plus what the replay produced, for logging and tests. */
export interface StepOutput {
  checkpoint: Checkpoint;
  result?: ExecutionResult;
  /**
   * The executor after this step, when it may continue incrementally once the checkpoint commits
   * (not after completion, continue-as-new or rewind).
   */
  executor?: OrchestrationExecutor;
}

/**
 * Runs one step of `fn` over the input and returns the checkpoint to commit. `warm`, when given,
 * is the executor returned by this instance's previous step, whose checkpoint committed and whose
 * history nobody changed since: it continues from where it stopped instead of replaying history.
 */
export function runOrchestrationStep(
  fn: OrchestratorFunction,
  input: StepInput,
  options: Omit<ExecutorOptions, "instanceId">,
  warm?: OrchestrationExecutor,
): StepOutput {
  const { instance, now } = input;
  const consumedMessageIds = input.messages.map((m) => m.id);
  const isApplicable = (m: InboxMessage): boolean =>
    m.executionId === undefined || m.executionId === instance.executionId;
  const applicable = input.messages.filter(isApplicable);
  const rewind = applicable.find((m) => m.event.kind === "ExecutionRewound");
  // The client flips a rewound instance from Failed to Pending when it records the request, so
  // "failed" is read from history: the execution ended with a Failed completion.
  const rewinding =
    rewind !== undefined &&
    input.history.some((e) => e.kind === "ExecutionCompleted" && e.status === "Failed");

  if (isTerminalStatus(instance.runtimeStatus) && !rewinding) {
    return {
      checkpoint: unchanged(instance, consumedMessageIds, releaseGrants(instance, input.messages, now)),
    };
  }
  const stale =
    applicable.length === input.messages.length ? [] : input.messages.filter((m) => !isApplicable(m));
  // Only stale messages (for an older execution) or a rewind of an instance that is not Failed.
  const nothingApplies = applicable.every((m) => m.event.kind === "ExecutionRewound");
  if (!rewinding && input.messages.length > 0 && nothingApplies) {
    return { checkpoint: unchanged(instance, consumedMessageIds, releaseGrants(instance, stale, now)) };
  }

  const past = rewinding ? rewindHistory(input.history) : input.history;
  const hasStarted = past.some((e) => e.kind === "ExecutionStarted");
  const fresh: HistoryEvent[] = [makeEvent(now, { kind: "OrchestratorStarted" })];
  if (rewinding && rewind) fresh.push(rewind.event);
  for (const message of applicable) {
    // A rewind applies to Failed instances only; one that raced with a running instance is dropped.
    if (message.event.kind === "ExecutionRewound") continue;
    if (message.event.kind === "ExecutionStarted" && hasStarted) continue;
    fresh.push(message.event);
  }

  let executor: OrchestrationExecutor;
  let result: ExecutionResult;
  if (warm && !rewinding) {
    executor = warm;
    executor.acknowledgeRecorded();
    result = executor.execute([], fresh);
  } else {
    executor = new OrchestrationExecutor(fn, { instanceId: instance.instanceId, ...options });
    result = executor.execute(past, fresh);
  }
  const isStarted = (e: HistoryEvent): e is ExecutionStartedEvent => e.kind === "ExecutionStarted";
  // No copy of the whole history per step: ExecutionStarted is among the first events.
  const started = past.find(isStarted) ?? fresh.find(isStarted);
  const out = new CheckpointBuilder(instance, now, input.newExecutionId, started);
  for (const action of result.actions) out.addAction(action);
  out.addUnlocks(result.unlocks);
  out.messages.push(...releaseGrants(instance, stale, now));

  const terminate = fresh.find((e) => e.kind === "ExecutionTerminated");
  if (
    result.completion?.status === "Terminated" &&
    terminate?.kind === "ExecutionTerminated" &&
    terminate.recursive
  ) {
    for (const child of result.openChildren) {
      out.messages.push({
        instanceId: child,
        event: makeEvent(now, { kind: "ExecutionTerminated", reason: terminate.reason, recursive: true }),
        visibleAt: now.getTime(),
      });
    }
  }

  const continued = result.completion?.status === "ContinuedAsNew";
  const checkpoint: Checkpoint = {
    history: {
      mode: rewinding || continued ? "replace" : "append",
      events: continued ? [] : rewinding ? [...past, ...fresh, ...out.events] : [...fresh, ...out.events],
    },
    consumedMessageIds,
    instance: out.instanceUpdate(result),
    activities: out.activities,
    messages: out.messages,
    children: out.children,
  };
  return { checkpoint, result, ...(result.completion || rewinding ? {} : { executor }) };
}

/**
 * Releases the locks of critical sections granted to an execution that no longer waits for them
 * (it finished, or continued as new): every entity of the grant's lock set is unlocked.
 */
function releaseGrants(instance: InstanceRecord, messages: readonly InboxMessage[], now: Date): NewMessage[] {
  const out: NewMessage[] = [];
  for (const { event } of messages) {
    if (event.kind !== "EntityLockGranted") continue;
    for (const entityId of event.lockSet) {
      out.push(unlockMessage(entityId, event.criticalSectionId, instance.instanceId, now));
    }
  }
  return out;
}

/**
 * A checkpoint that only consumes messages (they arrived for a finished instance or a stale
 * execution), sending `messages` (lock releases).
 */
function unchanged(
  instance: InstanceRecord,
  consumedMessageIds: string[],
  messages: NewMessage[],
): Checkpoint {
  return {
    history: { mode: "append", events: [] },
    consumedMessageIds,
    instance: {
      executionId: instance.executionId,
      runtimeStatus: instance.runtimeStatus,
      output: instance.output,
      customStatus: instance.customStatus,
      failure: instance.failure,
      lastUpdatedAt: instance.lastUpdatedAt,
      completedAt: instance.completedAt,
    },
    activities: [],
    messages,
    children: [],
  };
}
