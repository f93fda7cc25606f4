/**
 * The orchestration dispatcher: leases instances with pending messages in batches (leaving out
 * the histories its replay cache holds), runs one replay step each (core/runtime-state.ts), and
 * hands the checkpoints to the hub's group commit, fenced by each lease. Durable timers are inbox
 * messages with a visibleAt; the loop sleeps until the earliest one is due.
 */
import { randomUUID } from "node:crypto";
import { LeaseLostError } from "../core/errors.js";
import type { HistoryEvent } from "../core/events.js";
import type { Checkpoint } from "../core/records.js";
import { runOrchestrationStep } from "../core/runtime-state.js";
import { EngineMetrics } from "../observability/metrics.js";
import { type StepFacts, stepFacts } from "../observability/step-facts.js";
import { logStep } from "../observability/step-log.js";
import { propagateTraceContext, traceStep } from "../observability/step-trace.js";
import type { OrchestrationLease, OrchestrationWorkItem } from "../store/store.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { faultPoint } from "./faults.js";
import { LeaseRenewer } from "./lease-renewer.js";
import { ReplayCache } from "./replay-cache.js";
import type { HubRuntime } from "./runtime.js";
import { WorkLoop } from "./work-loop.js";

/** Delay before an instance whose step crashed unexpectedly is retried. */
const FAILED_STEP_RETRY_MS = 2_000;

/** A checkpoint waiting for the group commit. */
export interface PendingCommit {
  lease: OrchestrationLease;
  checkpoint: Checkpoint;
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
      const { instanceId } = item.instance;
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
      if (executor && checkpoint.history.mode === "append") {
        for (const event of checkpoint.history.events) history.push(event);
        this.cache.put(instanceId, checkpoint.instance.executionId, { executor, history });
      }
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
