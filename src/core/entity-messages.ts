/**
 * The messages orchestrations and entities send each other: requests to an entity (whose row is
 * created with its first message) and releases of a critical section's locks. Shared by the
 * orchestration checkpoint builder and the entity batch.
 */
import { ENTITY_EXECUTION_ID, EntityId, entityRowName } from "./entity-id.js";
import { type EntityRequestEvent, type EntityUnlockSentEvent, makeEvent } from "./events.js";
import type { NewMessage } from "./records.js";

/** A request to the entity `entityInstanceId`, creating its row when it has none. */
export function messageToEntity(
  entityInstanceId: string,
  event: EntityRequestEvent,
  visibleAt: number,
): NewMessage {
  const { name } = EntityId.fromString(entityInstanceId);
  return {
    instanceId: entityInstanceId,
    event,
    visibleAt,
    ensureTarget: { name: entityRowName(name), executionId: ENTITY_EXECUTION_ID },
  };
}

/** Releases the lock `criticalSectionId` (held by `ownerInstanceId`) on one entity. */
export function unlockMessage(
  entityInstanceId: string,
  criticalSectionId: string,
  ownerInstanceId: string,
  now: Date,
): NewMessage {
  const event = makeEvent<EntityUnlockSentEvent>(now, {
    kind: "EntityUnlockSent",
    criticalSectionId,
    parentInstanceId: ownerInstanceId,
  });
  return messageToEntity(entityInstanceId, event, now.getTime());
}
