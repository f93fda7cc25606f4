/**
 * Lifecycle log lines of an orchestration instance, written once per committed step from its
 * facts (never for replayed history): started, checkpoint, task scheduled/completed/failed, timer
 * fired, event raised, entity call returned or failed, lock acquired, and
 * completed/failed/terminated with the execution's duration. Every line
 * carries `instanceId` and the orchestration `name`.
 */
import type { Checkpoint } from "../core/records.js";
import { type EngineLogger, logsAt } from "../dispatch/runtime.js";
import type { StepFacts } from "./step-facts.js";

/** Writes the lifecycle lines of one committed step. */
export function logStep(
  logger: EngineLogger,
  facts: StepFacts,
  checkpoint: Checkpoint,
  stepDurationMs: number,
): void {
  const info = logsAt(logger, "info");
  if (info) logProgress(logger, facts, checkpoint, stepDurationMs, logsAt(logger, "debug"));
  const completion = facts.completion;
  // Only a failure is logged below info: build nothing when no line would be written.
  if (!completion || (!info && completion.status !== "Failed")) return;
  const fields = {
    instanceId: facts.instanceId,
    name: facts.name,
    status: completion.status,
    durationMs: completion.durationMs,
  };
  switch (completion.status) {
    case "Failed":
      logger.warn("instance failed", { ...fields, error: completion.failure?.message });
      return;
    case "Terminated":
      if (info) logger.info("instance terminated", fields);
      return;
    case "ContinuedAsNew":
      if (info) logger.info("instance continued as new", fields);
      return;
    default:
      if (info) logger.info("instance completed", fields);
  }
}

/** The info and debug lines of a step (the caller checked that info lines are written). */
function logProgress(
  logger: EngineLogger,
  facts: StepFacts,
  checkpoint: Checkpoint,
  stepDurationMs: number,
  debug: boolean,
): void {
  const base = { instanceId: facts.instanceId, name: facts.name };
  if (facts.isFirstStep) {
    const parent = facts.started?.parent;
    logger.info("instance started", {
      ...base,
      executionId: facts.executionId,
      ...(parent ? { parentInstanceId: parent.instanceId } : {}),
    });
  }
  if (debug) {
    logger.debug("checkpoint committed", {
      ...base,
      eventsAppended: checkpoint.history.events.length,
      activitiesScheduled: checkpoint.activities.length,
      messagesSent: checkpoint.messages.length,
      childrenStarted: checkpoint.children.length,
      status: checkpoint.instance.runtimeStatus,
      durationMs: Math.round(stepDurationMs),
    });
    for (const task of facts.scheduled) {
      if (task.kind === "timer")
        logger.debug("timer created", { ...base, taskId: task.taskId, fireAt: task.name });
      else logger.debug(`${task.kind} scheduled`, { ...base, taskId: task.taskId, [task.kind]: task.name });
    }
  }
  for (const task of facts.finished) {
    const fields = {
      ...base,
      taskId: task.taskId,
      [task.kind]: task.name,
      attempt: task.attempt,
      durationMs: Date.parse(task.finishedAt) - Date.parse(task.scheduledAt),
      ...(task.childInstanceId ? { childInstanceId: task.childInstanceId } : {}),
    };
    if (task.failure) logger.info(`${task.kind} failed`, { ...fields, error: task.failure.message });
    else logger.info(`${task.kind} completed`, fields);
  }
  if (debug) {
    for (const timer of facts.timersFired) {
      logger.debug("timer fired", { ...base, taskId: timer.timerId, fireAt: timer.fireAt });
    }
  }
  for (const event of facts.eventsRaised) logger.info("event raised", { ...base, event: event.name });
  for (const call of facts.entityCalls) {
    const fields = {
      ...base,
      entityId: call.entityId,
      operation: call.operation,
      durationMs: Date.parse(call.finishedAt) - Date.parse(call.calledAt),
    };
    if (call.failure) logger.info("entity operation failed", { ...fields, error: call.failure.message });
    else if (debug) logger.debug("entity operation returned", fields);
  }
  for (const lock of debug ? facts.locksGranted : []) {
    logger.debug("lock acquired", {
      ...base,
      entities: lock.lockSet,
      waitedMs: Date.parse(lock.grantedAt) - Date.parse(lock.requestedAt),
    });
  }
}
