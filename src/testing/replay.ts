/**
 * Replays a recorded history against the orchestrator code registered on a hub, without a store
 * or workers: the way to prove that changed code still fits the histories of running instances
 * (golden-history tests), and to unit-test an orchestrator step by step.
 */

import type { OrchestratorAction } from "../core/actions.js";
import { deserialize } from "../core/codec.js";
import type { FailureDetails } from "../core/errors.js";
import { InvalidArgumentError } from "../core/errors.js";
import type { HistoryEvent } from "../core/events.js";
import { OrchestrationExecutor } from "../core/replay.js";
import type { TaskHub } from "../hub.js";

/** What replaying a history produced. */
export interface ReplayOutcome {
  /** How the code ended the execution during replay, or "Running" when it is still waiting. */
  status: "Running" | "Completed" | "Failed" | "Terminated" | "ContinuedAsNew";
  /** The decoded output, when Completed. */
  output?: unknown;
  /** The failure, when Failed (a non-determinism failure has code NON_DETERMINISM). */
  failure?: FailureDetails;
  /** Actions the code takes that history does not record yet (the next step's work). */
  newActions: OrchestratorAction[];
  /** True when the code ended exactly as history recorded (status and output). */
  matchesRecordedCompletion: boolean;
}

/**
 * Replays `history` (one execution, raw as the store keeps it: `hub.store.getHistory(hub.name, id)`;
 * not the decoded view of `getStatus`) with the orchestrator `hub` registered under its name. A recorded
 * `ExecutionCompleted` is compared with what the code does now rather than replayed.
 */
export function replayHistory(hub: TaskHub, history: readonly HistoryEvent[]): ReplayOutcome {
  const started = history.find((e) => e.kind === "ExecutionStarted");
  if (!started || started.kind !== "ExecutionStarted") {
    throw new InvalidArgumentError("the history has no ExecutionStarted event");
  }
  const fn = hub.orchestratorFunction(started.name);
  if (!fn) throw new InvalidArgumentError(`the hub has no orchestrator named '${started.name}'`);
  const recorded = history.find((e) => e.kind === "ExecutionCompleted");
  const past = history.filter((e) => e.kind !== "ExecutionCompleted");
  const executor = new OrchestrationExecutor(fn, {
    instanceId: started.instanceId,
    registry: hub,
    logSink: () => {},
  });
  const result = executor.execute(past, []);
  const completion = result.completion;
  const status = completion?.status ?? "Running";
  const outcome: ReplayOutcome = {
    status,
    newActions: result.actions.filter((a) => a.kind !== "CompleteOrchestration"),
    matchesRecordedCompletion:
      recorded?.kind === "ExecutionCompleted" &&
      recorded.status === status &&
      recorded.result === completion?.result,
  };
  if (status === "Completed") outcome.output = deserialize(completion?.result);
  if (completion?.failure) outcome.failure = completion.failure;
  return outcome;
}
