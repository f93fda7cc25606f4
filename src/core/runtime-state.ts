/**
 * One orchestrator step, end to end and still pure: from a leased instance (row, history, inbox
 * messages) to the checkpoint that records it. Decides which messages apply, runs the replay
 * engine, turns actions into history events and outbound work, and handles continue-as-new,
 * rewind, termination and results to a parent.
 */
import type { OrchestratorAction } from "./actions.js";
import {
  type EventRaisedEvent,
  type ExecutionStartedEvent,
  type HistoryEvent,
  isTerminalStatus,
  makeEvent,
  type SubOrchestrationInstanceCompletedEvent,
  type SubOrchestrationInstanceFailedEvent,
} from "./events.js";
import type { Checkpoint, ChildInstance, InboxMessage, InstanceRecord, NewMessage } from "./records.js";
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
  const applicable = input.messages.filter(
    (m) => m.executionId === undefined || m.executionId === instance.executionId,
  );
  const rewind = applicable.find((m) => m.event.kind === "ExecutionRewound");
  // The client flips a rewound instance from Failed to Pending when it records the request, so
  // "failed" is read from history: the execution ended with a Failed completion.
  const rewinding =
    rewind !== undefined &&
    input.history.some((e) => e.kind === "ExecutionCompleted" && e.status === "Failed");

  if (isTerminalStatus(instance.runtimeStatus) && !rewinding) {
    return { checkpoint: unchanged(instance, consumedMessageIds) };
  }
  // Only stale messages (for an older execution) or a rewind of an instance that is not Failed.
  const nothingApplies = applicable.every((m) => m.event.kind === "ExecutionRewound");
  if (!rewinding && input.messages.length > 0 && nothingApplies) {
    return { checkpoint: unchanged(instance, consumedMessageIds) };
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
    executor = new OrchestrationExecutor(fn, { ...options, instanceId: instance.instanceId });
    result = executor.execute(past, fresh);
  }
  const isStarted = (e: HistoryEvent): e is ExecutionStartedEvent => e.kind === "ExecutionStarted";
  // No copy of the whole history per step: ExecutionStarted is among the first events.
  const started = past.find(isStarted) ?? fresh.find(isStarted);
  const out = new CheckpointBuilder(instance, now, input.newExecutionId, started);
  for (const action of result.actions) out.addAction(action);

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

/** A checkpoint that only consumes messages (they arrived for a finished instance or a stale execution). */
function unchanged(instance: InstanceRecord, consumedMessageIds: string[]): Checkpoint {
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
    messages: [],
    children: [],
  };
}

/** Accumulates the events and outbound work of one step's actions. */
class CheckpointBuilder {
  readonly events: HistoryEvent[] = [];
  readonly activities: Checkpoint["activities"] = [];
  readonly messages: NewMessage[] = [];
  readonly children: ChildInstance[] = [];
  private nextExecutionId: string | undefined;

  constructor(
    private readonly instance: InstanceRecord,
    private readonly now: Date,
    private readonly newExecutionId: () => string,
    private readonly started: ExecutionStartedEvent | undefined,
  ) {}

  addAction(action: OrchestratorAction): void {
    const { instance, now } = this;
    const at = now.getTime();
    switch (action.kind) {
      case "ScheduleTask":
        this.events.push(
          makeEvent(now, {
            kind: "TaskScheduled",
            eventId: action.id,
            name: action.name,
            input: action.input,
            ...(action.attempt ? { attempt: action.attempt } : {}),
          }),
        );
        this.activities.push({
          instanceId: instance.instanceId,
          executionId: instance.executionId,
          taskId: action.id,
          name: action.name,
          input: action.input,
          attempt: action.attempt ?? 1,
        });
        return;
      case "CreateTimer":
        this.events.push(makeEvent(now, { kind: "TimerCreated", eventId: action.id, fireAt: action.fireAt }));
        this.messages.push({
          instanceId: instance.instanceId,
          executionId: instance.executionId,
          // Stamped with its due time: that is when it fires, whenever a worker picks it up.
          event: makeEvent(action.fireAt, { kind: "TimerFired", timerId: action.id, fireAt: action.fireAt }),
          visibleAt: Date.parse(action.fireAt),
        });
        return;
      case "CreateSubOrchestration":
        this.events.push(
          makeEvent(now, {
            kind: "SubOrchestrationInstanceCreated",
            eventId: action.id,
            name: action.name,
            instanceId: action.instanceId,
            input: action.input,
          }),
        );
        this.children.push(this.child(action.id, action.name, action.instanceId, action.input));
        return;
      case "SendEvent":
        this.events.push(
          makeEvent(now, {
            kind: "EventSent",
            eventId: action.id,
            instanceId: action.instanceId,
            name: action.name,
            input: action.input,
          }),
        );
        this.messages.push({
          instanceId: action.instanceId,
          event: makeEvent(now, { kind: "EventRaised", name: action.name, input: action.input }),
          visibleAt: at,
        });
        return;
      case "CompleteOrchestration":
        this.events.push(
          makeEvent(now, {
            kind: "ExecutionCompleted",
            eventId: action.id,
            status: action.status,
            ...(action.result !== undefined ? { result: action.result } : {}),
            ...(action.failure ? { failure: action.failure } : {}),
          }),
        );
        if (action.status === "ContinuedAsNew")
          this.continueAsNew(action.newInput, action.carryoverEvents ?? []);
        else this.reportToParent(action);
        return;
      default: {
        const never: never = action;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  private child(taskId: number, name: string, childId: string, input: string | undefined): ChildInstance {
    const { instance, now } = this;
    const executionId = this.newExecutionId();
    const parent = {
      instanceId: instance.instanceId,
      executionId: instance.executionId,
      name: instance.name,
      taskScheduledId: taskId,
    };
    const conflict: SubOrchestrationInstanceFailedEvent = makeEvent(now, {
      kind: "SubOrchestrationInstanceFailed",
      taskScheduledId: taskId,
      failure: {
        name: "InstanceAlreadyExistsError",
        code: "INSTANCE_ALREADY_EXISTS",
        message: `cannot start sub-orchestration '${name}': instance '${childId}' already exists and is not finished`,
      },
    });
    return {
      instanceId: childId,
      name,
      executionId,
      input,
      parent,
      createdAt: now.getTime(),
      started: makeEvent(now, {
        kind: "ExecutionStarted",
        name,
        instanceId: childId,
        executionId,
        input,
        parent,
      }),
      visibleAt: now.getTime(),
      conflictReply: {
        instanceId: instance.instanceId,
        executionId: instance.executionId,
        event: conflict,
        visibleAt: now.getTime(),
      },
    };
  }

  private continueAsNew(input: string | undefined, carryover: EventRaisedEvent[]): void {
    const { instance, now } = this;
    const executionId = this.newExecutionId();
    this.nextExecutionId = executionId;
    const parent = this.started?.parent;
    const started = makeEvent<ExecutionStartedEvent>(now, {
      kind: "ExecutionStarted",
      name: instance.name,
      instanceId: instance.instanceId,
      executionId,
      input,
      ...(parent ? { parent } : {}),
    });
    this.messages.push({
      instanceId: instance.instanceId,
      executionId,
      event: started,
      visibleAt: now.getTime(),
    });
    for (const event of carryover) {
      this.messages.push({ instanceId: instance.instanceId, executionId, event, visibleAt: now.getTime() });
    }
  }

  private reportToParent(action: Extract<OrchestratorAction, { kind: "CompleteOrchestration" }>): void {
    const parent = this.started?.parent;
    if (!parent) return;
    const { now } = this;
    const event =
      action.status === "Completed"
        ? makeEvent<SubOrchestrationInstanceCompletedEvent>(now, {
            kind: "SubOrchestrationInstanceCompleted",
            taskScheduledId: parent.taskScheduledId,
            result: action.result,
          })
        : makeEvent<SubOrchestrationInstanceFailedEvent>(now, {
            kind: "SubOrchestrationInstanceFailed",
            taskScheduledId: parent.taskScheduledId,
            failure: action.failure ?? {
              name: "TerminatedError",
              code: "TERMINATED",
              message: `sub-orchestration '${this.instance.instanceId}' was terminated`,
            },
          });
    this.messages.push({
      instanceId: parent.instanceId,
      executionId: parent.executionId,
      event,
      visibleAt: now.getTime(),
    });
  }

  instanceUpdate(result: ExecutionResult): Checkpoint["instance"] {
    const at = this.now.getTime();
    const base = {
      executionId: this.instance.executionId,
      customStatus: result.customStatus,
      lastUpdatedAt: at,
    };
    const completion = result.completion;
    if (!completion) {
      // Messages (an event, a suspension) can reach a scheduled instance before its start time.
      const waiting = this.started ? "Running" : "Pending";
      return { ...base, runtimeStatus: result.suspended ? "Suspended" : waiting };
    }
    switch (completion.status) {
      case "Completed":
        return { ...base, runtimeStatus: "Completed", output: completion.result, completedAt: at };
      case "Terminated":
        return { ...base, runtimeStatus: "Terminated", output: completion.result, completedAt: at };
      case "Failed":
        return { ...base, runtimeStatus: "Failed", failure: completion.failure, completedAt: at };
      case "ContinuedAsNew":
        return {
          ...base,
          executionId: this.nextExecutionId ?? this.instance.executionId,
          runtimeStatus: "ContinuedAsNew",
          // Present even when undefined: the new execution's input replaces the old one.
          input: completion.newInput,
        };
      default: {
        const never: never = completion.status;
        throw new Error(`unknown completion status ${String(never)}`);
      }
    }
  }
}
