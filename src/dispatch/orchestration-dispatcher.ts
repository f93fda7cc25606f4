/**
 * The orchestration dispatcher: leases instances with pending messages in batches (leaving out
 * the histories its replay cache holds), runs one replay step each (core/runtime-state.ts), and
 * hands the checkpoints to the hub's group commit, fenced by each lease. Durable timers are inbox
 * messages with a visibleAt; the loop sleeps until the earliest one is due. It also computes
 * steps ahead of the writes that commit them: the first step of an instance started in this
 * process (committed with its creation), and, for a warm instance, the step that follows an
 * activity's completion (committed with the completion when the instance has not changed
 * meanwhile, see `FollowingStep`).
 */
import { randomUUID } from "node:crypto";
import { LeaseLostError } from "../core/errors.js";
import type { HistoryEvent, InboxEvent, TaskCompletedEvent, TaskFailedEvent } from "../core/events.js";
import {
  applyInstanceUpdate,
  type Checkpoint,
  type InboxMessage,
  type InstanceRecord,
  pendingRecord,
} from "../core/records.js";
import { consoleLogSink, type ExecutorOptions } from "../core/replay.js";
import { runOrchestrationStep } from "../core/runtime-state.js";
import { EngineMetrics } from "../observability/metrics.js";
import { type StepFacts, stepFacts } from "../observability/step-facts.js";
import { logStep } from "../observability/step-log.js";
import { propagateTraceContext, traceStep } from "../observability/step-trace.js";
import type {
  ActivityTask,
  FollowingStep,
  LeaseOptions,
  NewInstance,
  OrchestrationLease,
  OrchestrationWorkItem,
} from "../store/store.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { faultPoint } from "./faults.js";
import { LeaseRenewer } from "./lease-renewer.js";
import { LookAhead } from "./look-ahead.js";
import { ReplayCache, type WarmInstance } from "./replay-cache.js";
import type { HubRuntime } from "./runtime.js";
import { StepLogs } from "./step-logs.js";
import { WorkLoop } from "./work-loop.js";

/** Delay before an instance whose step crashed unexpectedly is retried. */
const FAILED_STEP_RETRY_MS = 2_000;

/** A checkpoint waiting for the group commit. */
export interface PendingCommit {
  lease: OrchestrationLease;
  checkpoint: Checkpoint;
}

/** A step computed ahead of the write that commits it, and what to do once the store decided. */
export interface PreparedStep<S> {
  step: S;
  /** Called once the write settled: with true, the step committed and its state is kept. */
  settle(committed: boolean): void;
}

/** Runs orchestration steps for the hub's registered orchestrators. */
export class OrchestrationDispatcher {
  private readonly loop: WorkLoop<OrchestrationWorkItem>;
  private readonly names: string[];
  private readonly cache: ReplayCache;
  private readonly metrics: EngineMetrics;
  private readonly leases: LeaseRenewer<OrchestrationLease>;
  /** Instances leased ahead of their due time; undefined when the store or settings rule it out. */
  private readonly ahead: LookAhead<OrchestrationWorkItem> | undefined;
  /** Set by `stop()`: no more steps are computed ahead. */
  private stopped = false;
  /** `ctx.log` lines, held until their step commits. */
  private readonly logs: StepLogs;
  private readonly executorOptions: Omit<ExecutorOptions, "instanceId">;

  constructor(
    private readonly rt: HubRuntime,
    private readonly concurrency: number,
    private readonly commits: CommitBatcher<PendingCommit>,
  ) {
    this.names = [...rt.orchestrators.keys()];
    this.cache = new ReplayCache(rt.replayCacheSize);
    this.metrics = new EngineMetrics(rt.hub);
    this.logs = new StepLogs(rt.logSink ?? consoleLogSink);
    this.executorOptions = {
      registry: rt.registry,
      maxPayloadBytes: rt.maxPayloadBytes,
      logSink: this.logs.write,
    };
    this.leases = new LeaseRenewer(rt.leaseMs, (lease) =>
      rt.store.renewOrchestrationLease(lease, rt.leaseMs),
    );
    this.ahead = lookAheadFor(
      rt,
      concurrency,
      this.names,
      (max) => this.leaseOptions(max),
      () => this.storeDue(),
    );
    this.loop = new WorkLoop({
      name: "orchestrations",
      concurrency,
      fetch: (max) => this.fetch(max),
      process: (item, release) => this.step(item, release),
      nextDue: () => (this.ahead ? this.ahead.nextDue() : this.storeDue()),
      maxIdleMs: rt.maxIdleMs,
      onError: (err) => rt.logger.error("orchestration dispatcher error", { error: String(err) }),
    });
  }

  private storeDue(): Promise<number | undefined> {
    return this.rt.store.nextWakeUp(this.rt.hub, this.names, []);
  }

  /** Lease options for up to `max` instances, leaving out the histories the replay cache holds. */
  private leaseOptions(max: number): LeaseOptions {
    return { max, known: (id: string) => this.cache.known(id) };
  }

  /** Up to `max` work items: held ones come due first (their messages read again), then new leases. */
  private async fetch(max: number): Promise<OrchestrationWorkItem[]> {
    const held = this.ahead?.takeDue(max) ?? [];
    const items = held.length > 0 ? await this.withCurrentMessages(held) : [];
    if (items.length >= max) return items;
    const { store, hub, workerId, leaseMs } = this.rt;
    const leased = await store.leaseOrchestrations(
      hub,
      workerId,
      this.names,
      leaseMs,
      this.leaseOptions(max - items.length),
    );
    return items.concat(leased);
  }

  /**
   * Held items with the messages visible now, which may include ones that arrived while they were
   * held. One left with none (a lease lost meanwhile, say) is released instead, and so is every
   * one when the read fails (rather than waiting for their leases to expire).
   */
  private async withCurrentMessages(held: OrchestrationWorkItem[]): Promise<OrchestrationWorkItem[]> {
    let messages: InboxMessage[][];
    try {
      // Items are held only when the store can lease ahead, and so read held messages.
      messages = await this.rt.store.readLeasedMessages!(
        this.rt.hub,
        held.map((item) => item.lease),
      );
    } catch (err) {
      await this.release(held);
      throw err;
    }
    const items: OrchestrationWorkItem[] = [];
    const empty: OrchestrationWorkItem[] = [];
    for (const [i, item] of held.entries()) {
      const current = messages[i] ?? [];
      if (current.length > 0) items.push({ ...item, messages: current });
      else empty.push(item);
    }
    await this.release(empty);
    return items;
  }

  /** Releases the leases of items that will not be stepped (errors ignored: leases also expire). */
  private async release(items: readonly OrchestrationWorkItem[]): Promise<void> {
    await Promise.all(items.map((item) => this.rt.store.abandonOrchestration(item.lease).catch(() => {})));
  }

  /** Starts leasing. */
  start(): void {
    if (this.names.length > 0) this.loop.start();
  }

  /**
   * New work may be available: for `instanceId`, when given (if it is held ahead, it is due now),
   * and from `visibleAt` on, when given and later than now (the loop wakes in time for it, early
   * enough to lease it ahead, and leases nothing before).
   */
  wake(instanceId?: string, visibleAt?: number): void {
    const held = instanceId !== undefined && this.ahead?.expedite(instanceId) === true;
    if (!held && visibleAt !== undefined && visibleAt > Date.now()) {
      this.loop.wakeAt(this.ahead ? visibleAt - this.rt.lookAheadMs : visibleAt);
    } else {
      this.loop.wake();
    }
  }

  /** Stops leasing and waits for in-flight steps (they are short) to commit. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stopLeasing();
    await this.release(this.ahead?.takeAll() ?? []);
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

  /**
   * Runs one step and commits it. Its slot is `release`d once only the commit is left, unless
   * `concurrency` commits already wait: the next lease then overlaps the group commit.
   */
  private async step(item: OrchestrationWorkItem, release: () => void): Promise<void> {
    const rt = this.rt;
    const fn = rt.orchestrators.get(item.instance.name);
    const held = this.leases.hold(item.lease);
    try {
      if (!fn) throw new Error(`orchestrator '${item.instance.name}' is not registered in this worker`);
      const began = performance.now();
      const { executor: warm, history } = await this.state(item);
      const now = new Date();
      const { result, lines } = this.logs.capture(() =>
        runOrchestrationStep(
          fn,
          { instance: item.instance, history, messages: item.messages, now, newExecutionId: randomUUID },
          this.executorOptions,
          warm,
        ),
      );
      const { checkpoint, executor } = result;
      const facts = stepFacts(item.instance, history, item.messages, checkpoint, now);
      propagateTraceContext(facts, checkpoint);
      faultPoint("orchestration:before-commit");
      await this.commits.submitAndRelease({ lease: held.stop(), checkpoint }, release, this.concurrency);
      this.logs.flush(lines);
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
  ): PreparedStep<FollowingStep> | undefined {
    const warm = this.cache.take(task.instanceId, task.executionId);
    if (!warm) return undefined;
    if (this.stopped || warm.instance.runtimeStatus !== "Running") {
      this.cache.put(task.instanceId, task.executionId, warm);
      return undefined;
    }
    const { history, instance } = warm;
    const historyLength = history.length;
    const prepared = this.prepare(instance, history, result, warm.executor);
    if (!prepared) return undefined;
    this.metrics.cacheLookup(true);
    const { executionId, runtimeStatus } = instance;
    return { ...prepared, step: { executionId, runtimeStatus, historyLength, checkpoint: prepared.step } };
  }

  /**
   * The first step of a new instance this worker runs, computed from its start event, for the
   * store to commit with the creation; undefined when this worker does not run it now (another
   * process's orchestrator, a later start time, a stopping worker).
   */
  prepareFirstStep(instance: NewInstance): PreparedStep<Checkpoint> | undefined {
    if (this.stopped || !this.rt.orchestrators.has(instance.name) || instance.visibleAt > Date.now()) return;
    return this.prepare(pendingRecord(instance), [], instance.started, undefined);
  }

  /**
   * Runs one step of `instance` over `history` and the one new `event`, outside a lease, and
   * returns its checkpoint with what to do once the store decided; undefined if the step throws.
   */
  private prepare(
    instance: InstanceRecord,
    history: HistoryEvent[],
    event: InboxEvent,
    warm: WarmInstance["executor"] | undefined,
  ): PreparedStep<Checkpoint> | undefined {
    const rt = this.rt;
    const fn = rt.orchestrators.get(instance.name);
    if (!fn) return undefined;
    const began = performance.now();
    const now = new Date();
    const { instanceId, executionId } = instance;
    const message: InboxMessage = { id: "", instanceId, executionId, event, visibleAt: now.getTime() };
    let stepped: ReturnType<typeof runOrchestrationStep>;
    let lines: Parameters<StepLogs["flush"]>[0];
    try {
      ({ result: stepped, lines } = this.logs.capture(() =>
        runOrchestrationStep(
          fn,
          { instance, history, messages: [message], now, newExecutionId: randomUUID },
          this.executorOptions,
          warm,
        ),
      ));
    } catch (err) {
      rt.logger.warn("could not compute a step ahead; the message is queued instead", {
        instanceId,
        name: instance.name,
        error: String(err),
      });
      return undefined;
    }
    const checkpoint: Checkpoint = { ...stepped.checkpoint, consumedMessageIds: [] };
    const facts = stepFacts(instance, history, [message], checkpoint, now);
    propagateTraceContext(facts, checkpoint);
    return {
      step: checkpoint,
      settle: (committed) => {
        if (!committed) return;
        this.logs.flush(lines);
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

/**
 * Held items per slot, at most, when leasing ahead, and items leased ahead per idle turn (large:
 * each lease walks past the messages of the instances held already).
 */
const LOOK_AHEAD_ITEMS_PER_SLOT = 100;
const LOOK_AHEAD_BATCH_PER_SLOT = 10;

/** The look-ahead of a dispatcher, when its store can lease ahead and the window is not 0. */
function lookAheadFor(
  rt: HubRuntime,
  concurrency: number,
  names: string[],
  leaseOptions: (max: number) => LeaseOptions,
  storeDue: () => Promise<number | undefined>,
): LookAhead<OrchestrationWorkItem> | undefined {
  const { store, hub, workerId, leaseMs, lookAheadMs } = rt;
  const leaseAhead = store.leaseOrchestrationsAhead?.bind(store);
  if (lookAheadMs <= 0 || !leaseAhead || !store.readLeasedMessages) return undefined;
  return new LookAhead({
    windowMs: lookAheadMs,
    capacity: concurrency * LOOK_AHEAD_ITEMS_PER_SLOT,
    batch: concurrency * LOOK_AHEAD_BATCH_PER_SLOT,
    lease: (max) => leaseAhead(hub, workerId, names, leaseMs, lookAheadMs, leaseOptions(max)),
    dueAt: (item) => item.messages[0]?.visibleAt ?? 0,
    key: (item) => item.instance.instanceId,
    storeDue,
  });
}
