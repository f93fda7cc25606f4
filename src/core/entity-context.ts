/**
 * EntityContext: what an entity function programs against while it runs one operation. State,
 * result and outgoing work are collected here and applied by the batch only when the operation
 * returns; when it throws, all of it is discarded (the state change and the signals are rolled back).
 */
import { type Payload, serialize } from "./codec.js";
import { type EntityId, type EntityIdLike, toEntityId } from "./entity-id.js";
import { messageToEntity } from "./entity-messages.js";
import { EntityNotFoundError, InvalidArgumentError, OrchestratorNotFoundError } from "./errors.js";
import { type EntityOperationSignaledEvent, makeEvent } from "./events.js";
import type { ChildInstance, NewMessage } from "./records.js";
import {
  type NameRegistry,
  nameProblem,
  type OrchestratorRef,
  orchestrationIdProblem,
  refName,
} from "./refs.js";

/** What an operation needs from the batch running it. @internal */
export interface OperationHost {
  readonly entityId: EntityId;
  readonly registry: NameRegistry | undefined;
  readonly maxPayloadBytes: number;
  readonly now: Date;
  /** A fresh unique ID (request IDs, instance and execution IDs of started orchestrations). */
  newId(): string;
}

/** Everything one operation changed, applied only if it returns. @internal */
export interface OperationEffects {
  /** The state after the operation (JSON text), or undefined when the entity has none. */
  state: Payload;
  result: Payload;
  messages: NewMessage[];
  children: ChildInstance[];
}

/** Options of `EntityContext.signalEntity`. */
export interface EntitySignalOptions {
  /** Deliver the signal at this time instead of now. */
  signalTime?: Date;
}

/** The entity's view of itself during one operation. */
export class EntityContext<TState = unknown> {
  /** True when the entity had no state when this operation began. */
  readonly isNewlyConstructed: boolean;
  private stateText: Payload;
  private resultText: Payload;
  private destruct = false;
  private readonly messages: NewMessage[] = [];
  private readonly children: ChildInstance[] = [];

  /** @internal */
  constructor(
    private readonly host: OperationHost,
    /** The operation being run. */
    readonly operationName: string,
    private readonly input: Payload,
    state: Payload,
  ) {
    this.stateText = state;
    this.isNewlyConstructed = state === undefined;
  }

  /** This entity's ID. */
  get entityId(): EntityId {
    return this.host.entityId;
  }

  /** The entity name (lower-cased). */
  get entityName(): string {
    return this.host.entityId.name;
  }

  /** The entity key. */
  get entityKey(): string {
    return this.host.entityId.key;
  }

  /**
   * The current state (a fresh copy: change it with `setState`), or `initializer()` when the
   * entity has none (the initializer's value is not stored until `setState`).
   */
  getState(): TState | undefined;
  getState(initializer: () => TState): TState;
  getState(initializer?: () => TState): TState | undefined {
    if (this.stateText !== undefined) return JSON.parse(this.stateText) as TState;
    return initializer?.();
  }

  /** Replaces the state (JSON-serialisable; `undefined` deletes it). */
  setState(state: TState): void {
    this.stateText = serialize(state, `state of entity '${this.entityId}'`, this.host.maxPayloadBytes);
    this.destruct = false;
  }

  /** The operation input, typed by the caller. */
  getInput<T = unknown>(): T {
    return (this.input === undefined ? undefined : JSON.parse(this.input)) as T;
  }

  /** Sets the operation's result, returned to a caller that used `callEntity`. */
  return(value: unknown): void {
    this.resultText = serialize(
      value,
      `result of operation '${this.operationName}'`,
      this.host.maxPayloadBytes,
    );
  }

  /** Deletes the entity's state once this operation returns successfully. */
  destructOnExit(): void {
    this.destruct = true;
  }

  /** Sends a one-way operation to an entity (this one included), delivered after this batch commits. */
  signalEntity(
    entity: EntityIdLike,
    operation: string,
    input?: unknown,
    options: EntitySignalOptions = {},
  ): void {
    const target = toEntityId(entity);
    const registry = this.host.registry;
    if (registry && !registry.entityNames().includes(target.name)) {
      throw new EntityNotFoundError(target.name, registry.entityNames());
    }
    const problem = nameProblem("operation name", operation);
    if (problem) throw new InvalidArgumentError(problem);
    const signalTime = options?.signalTime;
    if (signalTime !== undefined && (!(signalTime instanceof Date) || Number.isNaN(signalTime.getTime()))) {
      throw new InvalidArgumentError("signalTime must be a valid Date");
    }
    const { now } = this.host;
    const event = makeEvent<EntityOperationSignaledEvent>(now, {
      kind: "EntityOperationSignaled",
      requestId: this.host.newId(),
      operation,
      input: serialize(input, `input of entity operation '${operation}'`, this.host.maxPayloadBytes),
      ...(signalTime ? { scheduledTime: signalTime.toISOString() } : {}),
    });
    this.messages.push(messageToEntity(target.toString(), event, signalTime?.getTime() ?? now.getTime()));
  }

  /**
   * Starts an orchestration once this batch commits and returns its instance ID (a new UUID when
   * none is given). When an instance with that ID is still running, nothing is started.
   */
  startNewOrchestration(
    nameOrRef: string | OrchestratorRef<unknown, unknown>,
    input?: unknown,
    instanceId?: string,
  ): string {
    const name = refName(nameOrRef);
    const problem = nameProblem("orchestrator name", name);
    if (problem) throw new InvalidArgumentError(problem);
    const registry = this.host.registry;
    if (registry && !registry.orchestratorNames().includes(name)) {
      throw new OrchestratorNotFoundError(name, registry.orchestratorNames());
    }
    const id = instanceId ?? this.host.newId();
    const idProblem = orchestrationIdProblem(id);
    if (idProblem) throw new InvalidArgumentError(idProblem);
    const payload = serialize(input, `input of orchestration '${name}'`, this.host.maxPayloadBytes);
    const { now } = this.host;
    const executionId = this.host.newId();
    this.children.push({
      instanceId: id,
      name,
      executionId,
      input: payload,
      createdAt: now.getTime(),
      started: makeEvent(now, {
        kind: "ExecutionStarted",
        name,
        instanceId: id,
        executionId,
        input: payload,
      }),
      visibleAt: now.getTime(),
    });
    return id;
  }

  /** What the operation changed, once it returned. @internal */
  effects(): OperationEffects {
    return {
      state: this.destruct ? undefined : this.stateText,
      result: this.resultText,
      messages: this.messages,
      children: this.children,
    };
  }

  /** True when `return(...)` was called. @internal */
  get hasReturned(): boolean {
    return this.resultText !== undefined;
  }
}
