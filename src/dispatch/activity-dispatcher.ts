/**
 * The activity dispatcher: leases activity tasks in batches (and takes the tasks that this
 * worker's commits claimed), runs the registered functions with their leases renewed, and
 * completes the tasks (deleting each and adding its result to the instance's inbox in one
 * transaction, many completions per transaction). Where the orchestration dispatcher holds the
 * instance warm, a completion carries the instance's following step, which commits in the same
 * transaction. Activities run at least once: a crash before completion redelivers the task.
 */
import { deserialize, serialize } from "../core/codec.js";
import { LeaseLostError, RefrainError, toFailureDetails } from "../core/errors.js";
import { makeEvent, type TaskCompletedEvent, type TaskFailedEvent } from "../core/events.js";
import { ActivityTracing } from "../observability/activity-trace.js";
import { EngineMetrics } from "../observability/metrics.js";
import type {
  ActivityClaim,
  ActivityCompletion,
  ActivityLease,
  ActivityTask,
  ActivityWorkItem,
  CommitOutcome,
  FollowingStep,
} from "../store/store.js";
import { CommitBatcher } from "./commit-batcher.js";
import { faultPoint } from "./faults.js";
import { LazyAbort } from "./lazy-abort.js";
import { type HeldLease, LeaseRenewer } from "./lease-renewer.js";
import type { PreparedStep } from "./orchestration-dispatcher.js";
import { type ActivityContext, type HubRuntime, logsAt } from "./runtime.js";
import { WorkLoop } from "./work-loop.js";

/** Runs activities for the hub's registered activity functions. */
export class ActivityDispatcher {
  private readonly loop: WorkLoop<ActivityWorkItem>;
  private readonly names: string[];
  private readonly running = new Map<string, { abort: LazyAbort; held: HeldLease<ActivityLease> }>();
  private readonly tracing: ActivityTracing;
  private readonly metrics: EngineMetrics;
  private readonly leases: LeaseRenewer<ActivityLease>;
  private readonly completions: CommitBatcher<ActivityCompletion>;

  constructor(
    private readonly rt: HubRuntime,
    private readonly concurrency: number,
    /** The step that follows a completion, when the orchestration dispatcher can compute it. */
    private readonly followingStep: (
      task: ActivityTask,
      result: TaskCompletedEvent | TaskFailedEvent,
    ) => PreparedStep<FollowingStep> | undefined = () => undefined,
  ) {
    this.names = [...rt.activities.keys()];
    this.tracing = new ActivityTracing(rt.store, rt.hub);
    this.metrics = new EngineMetrics(rt.hub);
    this.leases = new LeaseRenewer(rt.leaseMs, (lease) => rt.store.renewActivityLease(lease, rt.leaseMs));
    this.completions = new CommitBatcher((items) =>
      this.claiming(
        (claim) => rt.store.completeActivities(rt.hub, items, claim),
        ActivityDispatcher.claimedBy,
      ),
    );
    this.loop = new WorkLoop({
      name: "activities",
      concurrency,
      fetch: (max) => rt.store.leaseActivities(rt.hub, rt.workerId, this.names, rt.leaseMs, max),
      process: (item, release) => this.run(item, release),
      nextDue: () => rt.store.nextWakeUp(rt.hub, [], this.names),
      maxIdleMs: rt.maxIdleMs,
      onError: (err) => rt.logger.error("activity dispatcher error", { error: String(err) }),
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

  /**
   * Runs a write that claims, for this worker, new activity tasks up to its free slots, and runs
   * the tasks it claimed (`claimedOf` its result) at once, with no lease transaction of their own.
   */
  async claiming<R>(
    write: (claim: ActivityClaim | undefined) => Promise<R>,
    claimedOf: (result: R) => readonly ActivityWorkItem[],
  ): Promise<R> {
    const max = this.names.length > 0 ? this.loop.reserve() : 0;
    const claim: ActivityClaim | undefined =
      max > 0 ? { workerId: this.rt.workerId, names: this.names, leaseMs: this.rt.leaseMs, max } : undefined;
    let claimed: readonly ActivityWorkItem[] = [];
    try {
      const result = await write(claim);
      claimed = claimedOf(result);
      return result;
    } finally {
      this.loop.adopt(claimed, max);
    }
  }

  /** The tasks claimed by the items of a batch commit. */
  static claimedBy(outcomes: readonly CommitOutcome[]): ActivityWorkItem[] {
    return outcomes.flatMap((o) => (o.committed ? (o.claimed ?? []) : []));
  }

  /**
   * Stops leasing; waits up to `graceMs` for running activities, then aborts the rest and
   * releases their leases so another worker picks them up at once.
   */
  async stop(graceMs: number): Promise<void> {
    await this.loop.stopLeasing();
    const drained = this.loop.drain();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!timedOut) return;
    for (const [, entry] of this.running) {
      entry.held.stop();
      entry.abort.abort(new RefrainError("HUB_STOPPED", "the worker is stopping"));
      await this.rt.store.abandonActivity(entry.held.current).catch(() => {});
    }
  }

  /**
   * Runs one task and completes it; its slot is `release`d once only the completion's commit is
   * left, unless `concurrency` completions already wait for theirs.
   */
  private async run(item: ActivityWorkItem, release: () => void): Promise<void> {
    const { rt } = this;
    const { task } = item;
    const abort = new LazyAbort();
    const held = this.leases.hold(item.lease, (err) => abort.abort(err));
    this.running.set(task.id, { abort, held });
    try {
      faultPoint("activity:before-run");
      const fields = {
        instanceId: task.instanceId,
        activity: task.name,
        taskId: task.taskId,
        attempt: task.attempt,
        deliveryCount: task.deliveryCount,
      };
      const debug = logsAt(rt.logger, "debug");
      if (debug) rt.logger.debug("activity started", fields);
      const began = performance.now();
      const result = await this.tracing.run(task, () => this.invoke(item, abort));
      const durationMs = performance.now() - began;
      this.metrics.activity(task.name, durationMs, result.kind === "TaskFailed");
      if (debug)
        rt.logger.debug(result.kind === "TaskFailed" ? "activity threw" : "activity returned", {
          ...fields,
          durationMs: Math.round(durationMs),
          ...(result.kind === "TaskFailed" ? { error: result.failure.message } : {}),
        });
      if (abort.aborted) return;
      faultPoint("activity:before-complete");
      const prepared = this.followingStep(task, result);
      let outcome: CommitOutcome | undefined;
      try {
        outcome = await this.completions.submitAndRelease(
          { lease: held.stop(), result, ...(prepared && { next: prepared.step }) },
          release,
          this.concurrency,
        );
      } finally {
        prepared?.settle(outcome?.committed === true && outcome.stepped === true);
      }
      faultPoint("activity:after-complete");
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.metrics.leaseLost("activity");
        rt.logger.warn("activity result discarded: lease lost", {
          instanceId: task.instanceId,
          activity: task.name,
          taskId: task.taskId,
          attempt: task.attempt,
        });
      } else {
        rt.logger.error("could not complete activity; it will be redelivered", {
          instanceId: task.instanceId,
          activity: task.name,
          taskId: task.taskId,
          attempt: task.attempt,
          error: String(err),
        });
        await rt.store.abandonActivity(held.current, 1_000).catch(() => {});
      }
    } finally {
      held.stop();
      this.running.delete(task.id);
    }
  }

  private async invoke(
    item: ActivityWorkItem,
    abort: LazyAbort,
  ): Promise<TaskCompletedEvent | TaskFailedEvent> {
    const { task } = item;
    const now = () => new Date();
    const fn = this.rt.activities.get(task.name);
    try {
      if (!fn)
        throw new RefrainError(
          "ACTIVITY_NOT_FOUND",
          `activity '${task.name}' is not registered in this worker`,
        );
      const ctx: ActivityContext = {
        instanceId: task.instanceId,
        name: task.name,
        taskId: task.taskId,
        attempt: task.attempt,
        deliveryCount: task.deliveryCount,
        idempotencyKey: `${task.instanceId}:${task.executionId}:${task.taskId}`,
        get signal() {
          return abort.signal;
        },
      };
      const output = await fn(deserialize(task.input), ctx);
      const result = serialize(output, `output of activity '${task.name}'`, this.rt.maxPayloadBytes);
      return makeEvent<TaskCompletedEvent>(now(), {
        kind: "TaskCompleted",
        taskScheduledId: task.taskId,
        result,
      });
    } catch (err) {
      return makeEvent<TaskFailedEvent>(now(), {
        kind: "TaskFailed",
        taskScheduledId: task.taskId,
        failure: toFailureDetails(err),
      });
    }
  }
}
