/**
 * The orchestration dispatcher: leases instances with pending messages in batches (leaving out
 * the histories its replay cache holds), runs one replay step each (core/runtime-state.ts), and
 * hands the checkpoints to the hub's group commit, fenced by each lease. Durable timers are inbox
 * messages with a visibleAt; the loop sleeps until the earliest one is due. For a warm instance
 * it also computes the step that follows an activity's completion, which the store commits with
 * the completion when the instance has not changed meanwhile (`FollowingStep`).
 */
import { randomUUID } from "node:crypto";
import { LeaseLostError } from "../core/errors.js";
import type { HistoryEvent, TaskCompletedEvent, TaskFailedEvent } from "../core/events.js";
import {
  applyInstanceUpdate,
  type Checkpoint,
  type InboxMessage,
  type InstanceRecord,
} from "../core/records.js";
import { runOrchestrationStep } from "../core/runtime-state.js";
import { EngineMetrics } from "../observability/metrics.js";
import { type StepFacts, stepFacts } from "../observability/step-facts.js";
import { logStep } from "../observability/step-log.js";
import { propagateTraceContext, traceStep } from "../observability/step-trace.js";
import type {
  ActivityTask,
  CommitOutcome,
  FollowingStep,
  OrchestrationLease,
  OrchestrationWorkItem,
} from "../store/store.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { faultPoint } from "./faults.js";
import { LeaseRenewer } from "./lease-renewer.js";
import { ReplayCache, type WarmInstance } from "./replay-cache.js";
import type { HubRuntime } from "./runtime.js";
import { WorkLoop } from "./work-loop.js";

/** Delay before an instance whose step crashed unexpectedly is retried. */
const FAILED_STEP_RETRY_MS = 2_000;

/** A checkpoint waiting for the group commit. */
export interface PendingCommit {
  lease: OrchestrationLease;
  checkpoint: Checkpoint;
}

/** A step computed ahead of an activity's completion, and what to do once the store decided. */
export interface PreparedStep {
  step: FollowingStep;
  /** Called with the completion's outcome (or undefined when it failed): keeps the step's state if it committed. */
  settle(outcome: CommitOutcome | undefined): void;
}

/** Runs orchestration steps for the hub's registered orchestrators. */
export class OrchestrationDispatcher {
  private readonly loop: WorkLoop<OrchestrationWorkItem>;
  private readonly names: string[];
  private readonly cache: ReplayCache;
  private readonly metrics: EngineMetrics;
  private readonly leases: LeaseRenewer<OrchestrationLease>;

  constructor(
    private readonly rt: HubRuntime,
    concurrency: number,
    private readonly commits: CommitBatcher<PendingCommit>,
  ) {
    this.names = [...rt.orchestrators.keys()];
    this.cache = new ReplayCache(rt.replayCacheSize);
    this.metrics = new EngineMetrics(rt.hub);
    this.leases = new LeaseRenewer(rt.leaseMs, (lease) =>
      rt.store.renewOrchestrationLease(lease, rt.leaseMs),
    );
    this.loop = new WorkLoop({
      name: "orchestrations",
      concurrency,
      fetch: (max) =>
        rt.store.leaseOrchestrations(rt.hub, rt.workerId, this.names, rt.leaseMs, {
          max,
          known: (id) => this.cache.known(id),
        }),
      process: (item) => this.step(item),
      nextDue: () => rt.store.nextWakeUp(rt.hub, this.names, []),
      maxIdleMs: rt.maxIdleMs,
      onError: (err) => rt.logger.error("orchestration dispatcher error", { error: String(err) }),
    });
  }

  /** Starts leasing. */
  start(): void {
    if (this.names.length > 0) this.loop.start();
  }

  /** New work may be available. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops leasing and waits for in-flight steps (they are short) to commit. */
  async stop(): Promise<void> {
    await this.loop.stopLeasing();
    await this.loop.drain();
  }

  /**
   * The warm executor and the history of a leased instance: the cached ones when the cache still
   * matches, else the leased history (read from the store when the lease left it out but the
   * cache entry has gone meanwhile).
   */
  private async state(item: OrchestrationWorkItem) {
    const { instanceId, executionId } = item.instance;
    const warm = this.cache.take(
      instanceId,
      executionId,
      item.historyOmitted ? undefined : item.history.length,
    );
    if (this.cache.capacity > 0) this.metrics.cacheLookup(warm !== undefined);
    if (warm) return warm;
    const history: HistoryEvent[] = item.historyOmitted
      ? await this.rt.store.getHistory(this.rt.hub, instanceId)
      : item.history;
    return { executor: undefined, history };
  }

  private async step(item: OrchestrationWorkItem): Promise<void> {
    const rt = this.rt;
    const fn = rt.orchestrators.get(item.instance.name);
    const held = this.leases.hold(item.lease);
    try {
      if (!fn) throw new Error(`orchestrator '${item.instance.name}' is not registered in this worker`);
      const began = performance.now();
      const { executor: warm, history } = await this.state(item);
      const now = new Date();
      const { checkpoint, executor } = runOrchestrationStep(
        fn,
        { instance: item.instance, history, messages: item.messages, now, newExecutionId: randomUUID },
        { registry: rt.registry, maxPayloadBytes: rt.maxPayloadBytes, logSink: rt.logSink },
        warm,
      );
      const facts = stepFacts(item.instance, history, item.messages, checkpoint, now);
      propagateTraceContext(facts, checkpoint);
      faultPoint("orchestration:before-commit");
      await this.commits.submit({ lease: held.stop(), checkpoint });
      this.observe(facts, checkpoint, performance.now() - began);
      this.remember(item.instance, checkpoint, executor, history);
      faultPoint("orchestration:after-commit");
    } catch (err) {
      held.stop();
      if (err instanceof LeaseLostError) {
        this.metrics.leaseLost("orchestration");
        rt.logger.warn("orchestration step discarded: lease lost", {
          instanceId: item.instance.instanceId,
          name: item.instance.name,
        });
        return;
      }
      rt.logger.error("orchestration step failed; will retry", {
        instanceId: item.instance.instanceId,
        name: item.instance.name,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      await rt.store.abandonOrchestration(held.current, FAILED_STEP_RETRY_MS).catch(() => {});
    }
  }

  /**
   * The step that consumes an activity's result, computed now from the instance's warm state, for
   * the store to commit with the completion (see `FollowingStep`); undefined when this worker
   * holds no warm state for the task's execution (or a step of it is running). The warm state is
   * taken: it returns to the cache only if the step commits.
   */
  prepareFollowingStep(
    task: ActivityTask,
    result: TaskCompletedEvent | TaskFailedEvent,
  ): PreparedStep | undefined {
    const rt = this.rt;
    const warm = this.cache.take(task.instanceId, task.executionId);
    if (!warm) return undefined;
    const fn = rt.orchestrators.get(warm.instance.name);
    if (!fn || warm.instance.runtimeStatus !== "Running") {
      this.cache.put(task.instanceId, task.executionId, warm);
      return undefined;
    }
    const began = performance.now();
    const now = new Date();
    const message: InboxMessage = {
      id: "",
      instanceId: task.instanceId,
      executionId: task.executionId,
      event: result,
      visibleAt: now.getTime(),
    };
    const { history, instance } = warm;
    const historyLength = history.length;
    let stepped: ReturnType<typeof runOrchestrationStep>;
    try {
      stepped = runOrchestrationStep(
        fn,
        { instance, history, messages: [message], now, newExecutionId: randomUUID },
        { registry: rt.registry, maxPayloadBytes: rt.maxPayloadBytes, logSink: rt.logSink },
        warm.executor,
      );
    } catch (err) {
      rt.logger.warn("could not compute the step after an activity; its result is queued instead", {
        instanceId: task.instanceId,
        name: instance.name,
        error: String(err),
      });
      return undefined;
    }
    const checkpoint: Checkpoint = { ...stepped.checkpoint, consumedMessageIds: [] };
    const facts = stepFacts(instance, history, [message], checkpoint, now);
    propagateTraceContext(facts, checkpoint);
    this.metrics.cacheLookup(true);
    return {
      step: {
        executionId: instance.executionId,
        runtimeStatus: instance.runtimeStatus,
        historyLength,
        checkpoint,
      },
      settle: (outcome) => {
        if (!outcome?.committed || !outcome.stepped) return;
        this.observe(facts, checkpoint, performance.now() - began);
        this.remember(instance, checkpoint, stepped.executor, history);
      },
    };
  }

  /** Keeps a committed step's executor warm, with the history and row it left behind. */
  private remember(
    before: InstanceRecord,
    checkpoint: Checkpoint,
    executor: WarmInstance["executor"] | undefined,
    history: HistoryEvent[],
  ): void {
    if (!executor || checkpoint.history.mode !== "append") return;
    for (const event of checkpoint.history.events) history.push(event);
    const instance = applyInstanceUpdate(before, checkpoint.instance);
    this.cache.put(instance.instanceId, instance.executionId, { executor, history, instance });
  }

  /** Logs, traces and counts a committed step; a failure here never undoes the step. */
  private observe(facts: StepFacts, checkpoint: Checkpoint, durationMs: number): void {
    try {
      logStep(this.rt.logger, facts, checkpoint, durationMs);
      traceStep(facts);
      this.metrics.step(facts, durationMs);
    } catch (err) {
      this.rt.logger.error("could not record a step's logs, spans or metrics", {
        instanceId: facts.instanceId,
        name: facts.name,
        error: String(err),
      });
    }
  }
}
