/**
 * The entity side of entities and critical sections: runs every message an entity received, in
 * arrival order, as one batch whose checkpoint commits the new state, the responses and the
 * outgoing work together. Pure and synchronous: same inputs, same outputs.
 *
 * While a critical section holds the entity's lock, only its owner's calls run; everything else
 * waits in the entity's queue (kept with its state) until the lock is released. A lock request
 * locks the entity and travels on to the next entity of its lock set; the last one grants it.
 */
import type { Payload } from "./codec.js";
import { EntityContext, type OperationEffects, type OperationHost } from "./entity-context.js";
import { EntityId } from "./entity-id.js";
import { messageToEntity } from "./entity-messages.js";
import { type FailureDetails, InvalidYieldError, toFailureDetails } from "./errors.js";
import {
  type EntityLockGrantedEvent,
  type EntityLockRequestedEvent,
  type EntityOperationCompletedEvent,
  type EntityOperationFailedEvent,
  type EntityRequestEvent,
  type InboxEvent,
  makeEvent,
} from "./events.js";
import type { Checkpoint, ChildInstance, InboxMessage, InstanceRecord, NewMessage } from "./records.js";
import type { NameRegistry } from "./refs.js";

/** An entity function: runs one operation; `ctx.operationName` says which. Must be synchronous. */
export type EntityFunction<TState = unknown> = (ctx: EntityContext<TState>) => unknown;

/** Who holds an entity's lock. */
export interface EntityLockHolder {
  criticalSectionId: string;
  /** The orchestration instance holding the lock. */
  ownerInstanceId: string;
  ownerExecutionId?: string;
  /** ISO time the lock was taken. */
  lockedAt: string;
}

/** The durable state of one entity, kept (as JSON) in its instance row. */
export interface EntityDocument {
  /** The entity's state as JSON text; absent when the entity does not exist. */
  state?: string;
  lock?: EntityLockHolder;
  /** Requests waiting behind the lock, in arrival order. */
  queue?: QueuedRequest[];
}

/** A request that may wait behind a lock (releases never wait). */
export type QueuedRequest = Exclude<EntityRequestEvent, { kind: "EntityUnlockSent" }>;

/** Parses the document kept in an entity's row (`undefined` for a new or empty entity). */
export function parseEntityDocument(text: Payload): EntityDocument {
  return text === undefined ? {} : (JSON.parse(text) as EntityDocument);
}

/** One operation the batch ran, for logs, traces and metrics. */
export interface OperationReport {
  operation: string;
  requestId: string;
  /** The calling orchestration, for two-way calls. */
  callerInstanceId?: string;
  failure?: FailureDetails;
}

/** Everything one batch needs. */
export interface EntityBatchInput {
  instance: InstanceRecord;
  messages: readonly InboxMessage[];
  /** The batch's time: every new event's timestamp. */
  now: Date;
  /** Source of fresh unique IDs. */
  newId: () => string;
}

/** What one batch produced. */
export interface EntityBatchOutput {
  checkpoint: Checkpoint;
  operations: OperationReport[];
  document: EntityDocument;
}

/** Options of a batch. */
export interface EntityBatchOptions {
  /** When given, signals and orchestration starts to unregistered names fail the operation. */
  registry?: NameRegistry;
  maxPayloadBytes: number;
}

/** Runs one batch of an entity's messages. */
export function runEntityBatch(
  fn: EntityFunction,
  input: EntityBatchInput,
  options: EntityBatchOptions,
): EntityBatchOutput {
  const batch = new EntityBatch(fn, input, options);
  for (const message of input.messages) batch.receive(message.event);
  return batch.finish(input.messages.map((m) => m.id));
}

function isRequest(event: InboxEvent): event is EntityRequestEvent {
  return (
    event.kind === "EntityOperationCalled" ||
    event.kind === "EntityOperationSignaled" ||
    event.kind === "EntityLockRequested" ||
    event.kind === "EntityUnlockSent"
  );
}

/** The state of one batch as it processes messages in order. */
class EntityBatch implements OperationHost {
  readonly entityId: EntityId;
  readonly registry: NameRegistry | undefined;
  readonly maxPayloadBytes: number;
  readonly now: Date;
  private state: Payload;
  private lock: EntityLockHolder | undefined;
  private queue: QueuedRequest[];
  private readonly messages: NewMessage[] = [];
  private readonly children: ChildInstance[] = [];
  private readonly operations: OperationReport[] = [];

  constructor(
    private readonly fn: EntityFunction,
    private readonly input: EntityBatchInput,
    options: EntityBatchOptions,
  ) {
    this.entityId = EntityId.fromString(input.instance.instanceId);
    this.registry = options.registry;
    this.maxPayloadBytes = options.maxPayloadBytes;
    this.now = input.now;
    const doc = parseEntityDocument(input.instance.input);
    this.state = doc.state;
    this.lock = doc.lock;
    this.queue = doc.queue ?? [];
  }

  newId(): string {
    return this.input.newId();
  }

  /** Handles one arriving message. Anything that is not an entity request is dropped. */
  receive(event: InboxEvent): void {
    if (!isRequest(event)) return;
    if (event.kind === "EntityUnlockSent") {
      if (this.lock?.criticalSectionId !== event.criticalSectionId) return;
      this.lock = undefined;
      const waiting = this.queue;
      this.queue = [];
      for (const request of waiting) this.admit(request);
      return;
    }
    this.admit(event);
  }

  /** Runs a request now, or queues it behind the lock of another critical section. */
  private admit(request: QueuedRequest): void {
    if (this.lock && !this.servesWhileLocked(request)) {
      this.queue.push(request);
      return;
    }
    switch (request.kind) {
      case "EntityLockRequested":
        this.acquire(request);
        return;
      case "EntityOperationCalled":
      case "EntityOperationSignaled":
        this.run(request);
        return;
      default: {
        const never: never = request;
        throw new Error(`unknown entity request ${JSON.stringify(never)}`);
      }
    }
  }

  /** While locked, only the lock holder's calls run. */
  private servesWhileLocked(request: EntityRequestEvent): boolean {
    return (
      request.kind === "EntityOperationCalled" && request.parentInstanceId === this.lock?.ownerInstanceId
    );
  }

  /** Takes the lock for a critical section, then passes the request on or grants it. */
  private acquire(request: EntityLockRequestedEvent): void {
    const owner = request.parentInstanceId;
    if (owner === undefined || request.lockSet[request.position] !== this.entityId.toString()) return;
    this.lock = {
      criticalSectionId: request.criticalSectionId,
      ownerInstanceId: owner,
      ...(request.parentExecutionId ? { ownerExecutionId: request.parentExecutionId } : {}),
      lockedAt: this.now.toISOString(),
    };
    const next = request.lockSet[request.position + 1];
    if (next !== undefined) {
      const forwarded = makeEvent<EntityLockRequestedEvent>(this.now, {
        ...request,
        position: request.position + 1,
        eventId: -1,
      });
      this.messages.push(messageToEntity(next, forwarded, this.now.getTime()));
      return;
    }
    const granted = makeEvent<EntityLockGrantedEvent>(this.now, {
      kind: "EntityLockGranted",
      criticalSectionId: request.criticalSectionId,
      lockSet: request.lockSet,
    });
    this.messages.push(this.reply(owner, request.parentExecutionId, granted));
  }

  /** Runs one operation; its effects apply only if it returns. A call gets the result or the error. */
  private run(
    request: Extract<EntityRequestEvent, { kind: "EntityOperationCalled" | "EntityOperationSignaled" }>,
  ): void {
    const outcome = this.invoke(request.operation, request.input);
    const report: OperationReport = { operation: request.operation, requestId: request.requestId };
    if ("failure" in outcome) report.failure = outcome.failure;
    else {
      this.state = outcome.effects.state;
      this.messages.push(...outcome.effects.messages);
      this.children.push(...outcome.effects.children);
    }
    if (request.kind === "EntityOperationCalled" && request.parentInstanceId !== undefined) {
      report.callerInstanceId = request.parentInstanceId;
      const response =
        "failure" in outcome
          ? makeEvent<EntityOperationFailedEvent>(this.now, {
              kind: "EntityOperationFailed",
              requestId: request.requestId,
              failure: outcome.failure,
            })
          : makeEvent<EntityOperationCompletedEvent>(this.now, {
              kind: "EntityOperationCompleted",
              requestId: request.requestId,
              result: outcome.effects.result,
            });
      this.messages.push(this.reply(request.parentInstanceId, request.parentExecutionId, response));
    }
    this.operations.push(report);
  }

  private invoke(
    operation: string,
    input: Payload,
  ): { effects: OperationEffects } | { failure: FailureDetails } {
    const ctx = new EntityContext<unknown>(this, operation, input, this.state);
    try {
      const returned = this.fn(ctx);
      if (typeof (returned as { then?: unknown } | null)?.then === "function") {
        (returned as Promise<unknown>).then(undefined, () => {});
        throw new InvalidYieldError(
          `entity '${this.entityId.name}' returned a Promise from operation '${operation}': entity functions ` +
            "must be synchronous; do I/O in an activity and pass the result to the entity",
        );
      }
      if (returned !== undefined && !ctx.hasReturned) ctx.return(returned);
      return { effects: ctx.effects() };
    } catch (err) {
      return { failure: toFailureDetails(err) };
    }
  }

  private reply(
    instanceId: string,
    executionId: string | undefined,
    event: EntityOperationCompletedEvent | EntityOperationFailedEvent | EntityLockGrantedEvent,
  ): NewMessage {
    return { instanceId, ...(executionId ? { executionId } : {}), event, visibleAt: this.now.getTime() };
  }

  /** The checkpoint: the new document, every message consumed, the outgoing work. */
  finish(consumedMessageIds: string[]): EntityBatchOutput {
    const document: EntityDocument = {
      ...(this.state !== undefined ? { state: this.state } : {}),
      ...(this.lock ? { lock: this.lock } : {}),
      ...(this.queue.length > 0 ? { queue: this.queue } : {}),
    };
    const empty = Object.keys(document).length === 0;
    const checkpoint: Checkpoint = {
      history: { mode: "append", events: [] },
      consumedMessageIds,
      instance: {
        executionId: this.input.instance.executionId,
        runtimeStatus: empty ? "Completed" : "Running",
        // Present even when undefined: an empty entity keeps no document.
        input: empty ? undefined : JSON.stringify(document),
        lastUpdatedAt: this.now.getTime(),
      },
      activities: [],
      messages: this.messages,
      children: this.children,
    };
    return { checkpoint, operations: this.operations, document };
  }
}
