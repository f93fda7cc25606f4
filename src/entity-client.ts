/**
 * The entity half of the DurableClient: signal entities, read their state, list them and clean
 * their storage. An entity is an instance row whose ID begins with "@"; its state, lock and queue
 * live in that row's document (see core/entity-batch.ts).
 */
import { randomUUID } from "node:crypto";
import { serialize } from "./core/codec.js";
import { parseEntityDocument } from "./core/entity-batch.js";
import {
  ENTITY_ID_PREFIX,
  EntityId,
  type EntityIdLike,
  entityNameProblem,
  toEntityId,
} from "./core/entity-id.js";
import { messageToEntity, unlockMessage } from "./core/entity-messages.js";
import { EntityNotFoundError, InvalidArgumentError } from "./core/errors.js";
import { type EntityOperationSignaledEvent, isTerminalStatus, makeEvent } from "./core/events.js";
import type { InstanceRecord } from "./core/records.js";
import { type NameRegistry, nameProblem } from "./core/refs.js";
import { MAX_PAGE_SIZE } from "./store/common.js";
import type { Store } from "./store/store.js";

/** What the entity client needs from its hub. @internal */
export interface EntityClientBinding {
  hub: string;
  store: Store;
  ready: () => Promise<void>;
  registry: () => NameRegistry | undefined;
  maxPayloadBytes: number;
}

/** Options of `client.signalEntity`. */
export interface SignalEntityClientOptions {
  /** Deliver the signal at this time instead of now. */
  signalTime?: Date;
}

/** What `client.readEntityState` returns. */
export interface EntityStateResponse<T = unknown> {
  /** False when the entity has no state (never set, or deleted). */
  entityExists: boolean;
  /** The state, when it exists. */
  entityState?: T;
}

/** Query of `client.listEntities`; every field optional. */
export interface EntityQuery {
  /** Only entities of this name (case-insensitive). */
  entityName?: string;
  /** Only keys starting with this (needs `entityName`). */
  keyPrefix?: string;
  /** Include each entity's state (default false). */
  includeState?: boolean;
  /** Include entities without state: locked, with queued operations, or empty (default false). */
  includeTransient?: boolean;
  /** 1..1000, default 100. A page may hold fewer entities (those without state are skipped). */
  pageSize?: number;
  continuationToken?: string;
}

/** One entity as listed. */
export interface EntityMetadata {
  id: EntityId;
  lastModifiedTime: Date;
  /** The state, when `includeState` and the entity has one. */
  state?: unknown;
  /** The orchestration holding the entity's lock, if any. */
  lockedBy?: string;
  /** Operations waiting behind the lock. */
  backlogQueueSize: number;
}

/** What `client.cleanEntityStorage` did. */
export interface CleanEntityStorageResult {
  emptyEntitiesRemoved: number;
  orphanedLocksReleased: number;
}

/** Options of `client.cleanEntityStorage`. */
export interface CleanEntityStorageOptions {
  /** Delete entities with no state, lock or queue (default true). */
  removeEmptyEntities?: boolean;
  /** Release locks held by orchestrations that finished, restarted or were purged (default true). */
  releaseOrphanedLocks?: boolean;
}

/** Entity management over the store. */
export class EntityClient {
  constructor(private readonly binding: EntityClientBinding) {}

  /** Sends a one-way operation to an entity (created with its first message). */
  async signalEntity(
    entity: EntityIdLike,
    operation: string,
    input?: unknown,
    options: SignalEntityClientOptions = {},
  ): Promise<void> {
    const id = this.target(entity);
    const problem = nameProblem("operation name", operation);
    if (problem) throw new InvalidArgumentError(problem);
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options must be an object");
    const at = options.signalTime;
    if (at !== undefined && (!(at instanceof Date) || Number.isNaN(at.getTime()))) {
      throw new InvalidArgumentError("signalTime must be a valid Date");
    }
    const payload = serialize(
      input,
      `input of entity operation '${operation}'`,
      this.binding.maxPayloadBytes,
    );
    const now = new Date();
    const event = makeEvent<EntityOperationSignaledEvent>(now, {
      kind: "EntityOperationSignaled",
      requestId: randomUUID(),
      operation,
      input: payload,
      ...(at ? { scheduledTime: at.toISOString() } : {}),
    });
    await this.binding.ready();
    await this.binding.store.appendMessage(
      this.binding.hub,
      messageToEntity(id.toString(), event, at?.getTime() ?? now.getTime()),
    );
  }

  /** The entity's current state, as of its last committed batch. */
  async readEntityState<T = unknown>(entity: EntityIdLike): Promise<EntityStateResponse<T>> {
    const id = toEntityId(entity);
    await this.binding.ready();
    const record = await this.binding.store.getInstance(this.binding.hub, id.toString());
    const state = record ? parseEntityDocument(record.input).state : undefined;
    if (state === undefined) return { entityExists: false };
    return { entityExists: true, entityState: JSON.parse(state) as T };
  }

  /** One page of entities, in creation order; pass `continuationToken` back for the next page. */
  async listEntities(
    query: EntityQuery = {},
  ): Promise<{ entities: EntityMetadata[]; continuationToken?: string }> {
    if (query === null || typeof query !== "object")
      throw new InvalidArgumentError("query must be an object");
    const prefix = entityPrefix(query);
    const pageSize = query.pageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new InvalidArgumentError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    }
    if (query.continuationToken !== undefined && typeof query.continuationToken !== "string") {
      throw new InvalidArgumentError("continuationToken must be a string");
    }
    await this.binding.ready();
    const page = await this.binding.store.listInstances(this.binding.hub, {
      instanceKind: "entity",
      instanceIdPrefix: prefix,
      ...(query.includeTransient ? {} : { runtimeStatus: ["Running"] }),
      pageSize,
      continuationToken: query.continuationToken,
    });
    const entities: EntityMetadata[] = [];
    for (const record of page.instances) {
      const item = toMetadata(record, query.includeState === true);
      if (item && (query.includeTransient || parseEntityDocument(record.input).state !== undefined)) {
        entities.push(item);
      }
    }
    return page.continuationToken ? { entities, continuationToken: page.continuationToken } : { entities };
  }

  /**
   * Releases locks whose holder no longer runs (it finished, restarted or was purged) and deletes
   * entities left without state, lock or queue. Safe while workers run: a release is an ordinary
   * message the entity handles in order, and an entity is deleted only while it has no message.
   */
  async cleanEntityStorage(options: CleanEntityStorageOptions = {}): Promise<CleanEntityStorageResult> {
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options must be an object");
    await this.binding.ready();
    const { store, hub } = this.binding;
    let orphanedLocksReleased = 0;
    if (options.releaseOrphanedLocks !== false) {
      let continuationToken: string | undefined;
      do {
        const page = await store.listInstances(hub, {
          instanceKind: "entity",
          runtimeStatus: ["Running"],
          pageSize: MAX_PAGE_SIZE,
          continuationToken,
        });
        for (const record of page.instances) {
          if (await this.releaseIfOrphaned(record)) orphanedLocksReleased++;
        }
        continuationToken = page.continuationToken;
      } while (continuationToken);
    }
    const emptyEntitiesRemoved =
      options.removeEmptyEntities === false
        ? 0
        : await store.purgeInstances(
            hub,
            { filter: { instanceKind: "entity", runtimeStatus: ["Completed"] } },
            { idleOnly: true },
          );
    return { emptyEntitiesRemoved, orphanedLocksReleased };
  }

  private async releaseIfOrphaned(record: InstanceRecord): Promise<boolean> {
    const lock = parseEntityDocument(record.input).lock;
    if (!lock) return false;
    const { store, hub } = this.binding;
    const owner = await store.getInstance(hub, lock.ownerInstanceId);
    const running =
      owner !== undefined &&
      !isTerminalStatus(owner.runtimeStatus) &&
      (lock.ownerExecutionId === undefined || owner.executionId === lock.ownerExecutionId);
    if (running) return false;
    await store.appendMessage(
      hub,
      unlockMessage(record.instanceId, lock.criticalSectionId, lock.ownerInstanceId, new Date()),
    );
    return true;
  }

  /** The entity's ID, after checking the registry knows its name. */
  private target(entity: EntityIdLike): EntityId {
    const id = toEntityId(entity);
    const registry = this.binding.registry();
    if (registry && !registry.entityNames().includes(id.name)) {
      throw new EntityNotFoundError(id.name, registry.entityNames());
    }
    return id;
  }
}

/** The instance-ID prefix a query selects. */
function entityPrefix(query: EntityQuery): string {
  if (query.entityName === undefined) {
    if (query.keyPrefix !== undefined) throw new InvalidArgumentError("keyPrefix needs entityName");
    return ENTITY_ID_PREFIX;
  }
  const problem = entityNameProblem(query.entityName);
  if (problem) throw new InvalidArgumentError(problem);
  if (query.keyPrefix !== undefined && typeof query.keyPrefix !== "string") {
    throw new InvalidArgumentError("keyPrefix must be a string");
  }
  return `${ENTITY_ID_PREFIX}${query.entityName.toLowerCase()}@${query.keyPrefix ?? ""}`;
}

function toMetadata(record: InstanceRecord, includeState: boolean): EntityMetadata | undefined {
  let id: EntityId;
  try {
    id = EntityId.fromString(record.instanceId);
  } catch {
    return undefined; // a row whose ID is not a valid entity ID (not written by Refrain)
  }
  const doc = parseEntityDocument(record.input);
  const item: EntityMetadata = {
    id,
    lastModifiedTime: new Date(record.lastUpdatedAt),
    backlogQueueSize: doc.queue?.length ?? 0,
  };
  if (includeState && doc.state !== undefined) item.state = JSON.parse(doc.state);
  if (doc.lock) item.lockedBy = doc.lock.ownerInstanceId;
  return item;
}
