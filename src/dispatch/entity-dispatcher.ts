/**
 * The entity dispatcher: leases entities with pending messages (entity rows are instances whose
 * ID begins with "@"), runs every visible message of each as one batch (core/entity-batch.ts), and
 * hands the batch's checkpoint to the hub's group commit, fenced by the lease. One entity is leased by one worker at a time, so
 * its operations run one at a time, in arrival order, across every process sharing the store.
 */
import { randomUUID } from "node:crypto";
import { runEntityBatch } from "../core/entity-batch.js";
import { EntityId } from "../core/entity-id.js";
import { LeaseLostError } from "../core/errors.js";
import { EngineMetrics } from "../observability/metrics.js";
import type { OrchestrationLease, OrchestrationWorkItem } from "../store/store.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { faultPoint } from "./faults.js";
import { LeaseRenewer } from "./lease-renewer.js";
import type { PendingCommit } from "./orchestration-dispatcher.js";
import type { HubRuntime } from "./runtime.js";
import { WorkLoop } from "./work-loop.js";

/** Delay before an entity whose batch crashed unexpectedly is retried. */
const FAILED_BATCH_RETRY_MS = 2_000;

/** Runs operation batches for the hub's registered entities. */
export class EntityDispatcher {
  private readonly loop: WorkLoop<OrchestrationWorkItem>;
  /** Instance-row names of the registered entities ("@" + lower-cased name). */
  private readonly names: string[];
  private readonly metrics: EngineMetrics;
  private readonly leases: LeaseRenewer<OrchestrationLease>;

  constructor(
    private readonly rt: HubRuntime,
    concurrency: number,
    private readonly commits: CommitBatcher<PendingCommit>,
  ) {
    this.names = [...rt.entities.keys()].map((name) => `@${name}`);
    this.metrics = new EngineMetrics(rt.hub);
    this.leases = new LeaseRenewer(rt.leaseMs, (lease) =>
      rt.store.renewOrchestrationLease(lease, rt.leaseMs),
    );
    this.loop = new WorkLoop({
      name: "entities",
      concurrency,
      fetch: (max) => rt.store.leaseOrchestrations(rt.hub, rt.workerId, this.names, rt.leaseMs, { max }),
      process: (item) => this.batch(item),
      nextDue: () => rt.store.nextWakeUp(rt.hub, this.names, []),
      maxIdleMs: rt.maxIdleMs,
      onError: (err) => rt.logger.error("entity dispatcher error", { error: String(err) }),
    });
  }

  /** Starts leasing. */
  start(): void {
    if (this.names.length > 0) this.loop.start();
  }

  /** New work may be available (from `visibleAt` on, when given: a scheduled signal). */
  wake(visibleAt?: number): void {
    if (visibleAt !== undefined && visibleAt > Date.now()) this.loop.wakeAt(visibleAt);
    else this.loop.wake();
  }

  /** Stops leasing and waits for in-flight batches to commit. */
  async stop(): Promise<void> {
    await this.loop.stopLeasing();
    await this.loop.drain();
  }

  private async batch(item: OrchestrationWorkItem): Promise<void> {
    const rt = this.rt;
    const entityId = item.instance.instanceId;
    const held = this.leases.hold(item.lease);
    try {
      const { name } = EntityId.fromString(entityId);
      const fn = rt.entities.get(name);
      if (!fn) throw new Error(`entity '${name}' is not registered in this worker`);
      const began = performance.now();
      const { checkpoint, operations } = runEntityBatch(
        fn,
        { instance: item.instance, messages: item.messages, now: new Date(), newId: randomUUID },
        { registry: rt.registry, maxPayloadBytes: rt.maxPayloadBytes },
      );
      faultPoint("entity:before-commit");
      await this.commits.submit({ lease: held.stop(), checkpoint });
      const durationMs = performance.now() - began;
      this.metrics.entityBatch(name, operations, durationMs);
      for (const op of operations) {
        const fields = {
          entityId,
          operation: op.operation,
          requestId: op.requestId,
          ...(op.callerInstanceId ? { instanceId: op.callerInstanceId } : {}),
        };
        if (op.failure) rt.logger.info("entity operation failed", { ...fields, error: op.failure.message });
        else rt.logger.debug("entity operation completed", fields);
      }
      rt.logger.debug("entity batch committed", {
        entityId,
        messages: item.messages.length,
        operations: operations.length,
        status: checkpoint.instance.runtimeStatus,
        durationMs: Math.round(durationMs),
      });
      faultPoint("entity:after-commit");
    } catch (err) {
      held.stop();
      if (err instanceof LeaseLostError) {
        this.metrics.leaseLost("entity");
        rt.logger.warn("entity batch discarded: lease lost", { entityId });
        return;
      }
      rt.logger.error("entity batch failed; will retry", {
        entityId,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      await rt.store.abandonOrchestration(held.current, FAILED_BATCH_RETRY_MS).catch(() => {});
    }
  }
}
