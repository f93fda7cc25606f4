/**
 * Entity identity. An entity is addressed by a name (the registered entity function, compared
 * case-insensitively) and a key; its instance ID is `@<name lower-cased>@<key>`, the form Durable
 * Functions uses. Instance IDs beginning with "@" are reserved for entities: no orchestration may
 * use one.
 */
import { InvalidArgumentError } from "./errors.js";
import { instanceIdProblem, nameProblem } from "./refs.js";

/** The first character of every entity instance ID. */
export const ENTITY_ID_PREFIX = "@";

/**
 * The execution ID of every entity instance row. Entities have no executions: their state
 * lives in the row and nothing is ever replayed.
 */
export const ENTITY_EXECUTION_ID = "entity";

/** True when the instance ID addresses an entity (it begins with "@"). */
export function isEntityInstanceId(instanceId: string): boolean {
  return instanceId.startsWith(ENTITY_ID_PREFIX);
}

/** Checks an entity name: a valid function name without "@". Returns an error message or undefined. */
export function entityNameProblem(name: unknown): string | undefined {
  const problem = nameProblem("entity name", name);
  if (problem) return problem;
  if ((name as string).includes("@")) return `entity name '${String(name)}' must not contain '@'`;
  return undefined;
}

/** The name every instance row of an entity type carries: "@" plus the lower-cased entity name. */
export function entityRowName(entityName: string): string {
  return ENTITY_ID_PREFIX + entityName.toLowerCase();
}

/** Identifies one entity: its (lower-cased) name and its key. Immutable. */
export class EntityId {
  /** The entity name, lower-cased. */
  readonly name: string;
  /** The entity key, exactly as given. */
  readonly key: string;

  /** Throws `InvalidArgumentError` for an invalid name or key. */
  constructor(name: string, key: string) {
    const problem = entityNameProblem(name);
    if (problem) throw new InvalidArgumentError(problem);
    if (typeof key !== "string")
      throw new InvalidArgumentError(`entity key must be a string, got ${typeof key}`);
    this.name = name.toLowerCase();
    this.key = key;
    const idProblem = instanceIdProblem(this.toString());
    if (idProblem) throw new InvalidArgumentError(`entity ID '@${this.name}@…': ${idProblem}`);
  }

  /** Parses the instance-ID form `@name@key`; throws `InvalidArgumentError` for anything else. */
  static fromString(instanceId: string): EntityId {
    if (typeof instanceId !== "string" || !isEntityInstanceId(instanceId)) {
      throw new InvalidArgumentError(
        `'${String(instanceId)}' is not an entity ID: entity IDs look like '@counter@my-key'`,
      );
    }
    const at = instanceId.indexOf("@", 1);
    if (at < 0) {
      throw new InvalidArgumentError(
        `'${instanceId}' is not an entity ID: it has no second '@' before the key`,
      );
    }
    return new EntityId(instanceId.slice(1, at), instanceId.slice(at + 1));
  }

  /** The instance ID of this entity: `@name@key`. */
  toString(): string {
    return `${ENTITY_ID_PREFIX}${this.name}@${this.key}`;
  }

  /** JSON form: `{ name, key }`. */
  toJSON(): { name: string; key: string } {
    return { name: this.name, key: this.key };
  }

  /** True when both IDs address the same entity. */
  equals(other: EntityId): boolean {
    return this.name === other.name && this.key === other.key;
  }
}

/** Something that names an entity: an `EntityId`, or its string form `@name@key`. */
export type EntityIdLike = EntityId | string;

/** The `EntityId` behind an ID or its string form; throws `InvalidArgumentError` for anything else. */
export function toEntityId(id: EntityIdLike): EntityId {
  if (id instanceof EntityId) return id;
  if (typeof id === "string") return EntityId.fromString(id);
  throw new InvalidArgumentError(
    `an entity must be given as new EntityId(name, key) or '@name@key', got ${id === null ? "null" : typeof id}`,
  );
}
