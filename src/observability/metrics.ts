/**
 * OpenTelemetry metrics through `@opentelemetry/api` only (no-ops until the application registers
 * a meter provider before the hub starts): instances started and ended by orchestration name,
 * activity and checkpoint durations, entity operations and batch durations, replay cache hits and
 * misses, and lost leases.
 */
import { type Counter, type Histogram, metrics } from "@opentelemetry/api";
import type { OperationReport } from "../core/entity-batch.js";
import type { StepFacts } from "./step-facts.js";

/** The instruments of one hub's workers, created when the hub starts. */
export class EngineMetrics {
  private readonly instancesStarted: Counter;
  private readonly instancesEnded: Counter;
  private readonly activityDuration: Histogram;
  private readonly checkpointDuration: Histogram;
  private readonly replayCache: Counter;
  private readonly leasesLost: Counter;
  private readonly entityOperations: Counter;
  private readonly entityBatchDuration: Histogram;

  constructor(private readonly hub: string) {
    const meter = metrics.getMeter("refrain");
    this.instancesStarted = meter.createCounter("refrain.instances.started", {
      description: "Orchestration executions that ran their first step",
    });
    this.instancesEnded = meter.createCounter("refrain.instances.ended", {
      description: "Orchestration executions that ended, by refrain.status",
    });
    this.activityDuration = meter.createHistogram("refrain.activity.duration", {
      description: "Time an activity function ran",
      unit: "ms",
    });
    this.checkpointDuration = meter.createHistogram("refrain.checkpoint.duration", {
      description: "Time of one orchestration step: replay plus checkpoint commit",
      unit: "ms",
    });
    this.replayCache = meter.createCounter("refrain.replay_cache.lookups", {
      description: "Replay cache lookups, by refrain.cache_hit",
    });
    this.leasesLost = meter.createCounter("refrain.leases.lost", {
      description: "Work discarded because another worker took over its lease, by refrain.work_kind",
    });
    this.entityOperations = meter.createCounter("refrain.entity.operations", {
      description: "Entity operations run, by refrain.entity.name and refrain.failed",
    });
    this.entityBatchDuration = meter.createHistogram("refrain.entity.batch.duration", {
      description: "Time of one entity batch: every operation plus the checkpoint commit",
      unit: "ms",
    });
  }

  /** Records one committed entity batch and its operations. */
  entityBatch(entityName: string, operations: readonly OperationReport[], durationMs: number): void {
    const attributes = { "refrain.task_hub": this.hub, "refrain.entity.name": entityName };
    this.entityBatchDuration.record(durationMs, attributes);
    let failed = 0;
    for (const op of operations) if (op.failure) failed++;
    if (operations.length > failed)
      this.entityOperations.add(operations.length - failed, { "refrain.failed": false, ...attributes });
    if (failed > 0) this.entityOperations.add(failed, { "refrain.failed": true, ...attributes });
  }

  /** Counts the start and end of executions in a committed step and its latency. */
  step(facts: StepFacts, durationMs: number): void {
    const attributes = { "refrain.task_hub": this.hub, "refrain.orchestration.name": facts.name };
    this.checkpointDuration.record(durationMs, attributes);
    if (facts.isFirstStep) this.instancesStarted.add(1, attributes);
    if (facts.completion)
      this.instancesEnded.add(1, { "refrain.status": facts.completion.status, ...attributes });
  }

  /** Records one activity invocation. */
  activity(name: string, durationMs: number, failed: boolean): void {
    this.activityDuration.record(durationMs, {
      "refrain.task_hub": this.hub,
      "refrain.task.name": name,
      "refrain.failed": failed,
    });
  }

  /** Counts one replay cache lookup. */
  cacheLookup(hit: boolean): void {
    this.replayCache.add(1, { "refrain.task_hub": this.hub, "refrain.cache_hit": hit });
  }

  /** Counts one lost lease. */
  leaseLost(kind: "orchestration" | "activity" | "entity"): void {
    this.leasesLost.add(1, { "refrain.task_hub": this.hub, "refrain.work_kind": kind });
  }
}
