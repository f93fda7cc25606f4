/**
 * The entity commands of `refrain`: `entities` (list), `entity` (one entity's state), `signal`
 * (send an operation) and `clean-entities`. Arguments are checked in `prepare`, so bad input
 * changes nothing; entity IDs are written `@name@key`.
 */
import type { DurableClient } from "../client.js";
import { EntityId } from "../core/entity-id.js";
import { InvalidArgumentError } from "../core/errors.js";
import type { EntityMetadata, EntityQuery } from "../entity-client.js";
import { type CommandSpec, parseDate, parseInteger, parseJson, stringOption, UsageError } from "./args.js";
import { formatTime, formatValue, renderKeyValues, renderTable } from "./format.js";

const ENTITY_ARGUMENT = { name: "id", required: true, description: "entity ID, e.g. @counter@tokyo" };

/** Parses an entity ID argument, as a usage error when malformed. */
function entityArgument(text: string, command: string): EntityId {
  try {
    return EntityId.fromString(text);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new UsageError(err.message, command);
    throw err;
  }
}

function entityJson(e: EntityMetadata): Record<string, unknown> {
  return {
    id: e.id.toString(),
    name: e.id.name,
    key: e.id.key,
    lastModifiedTime: e.lastModifiedTime.toISOString(),
    ...(e.state !== undefined ? { state: e.state } : {}),
    ...(e.lockedBy !== undefined ? { lockedBy: e.lockedBy } : {}),
    backlogQueueSize: e.backlogQueueSize,
  };
}

function renderEntities(entities: readonly EntityMetadata[], withState: boolean): string {
  const headers = ["ENTITY", "LAST MODIFIED", "LOCKED BY", "QUEUED", ...(withState ? ["STATE"] : [])];
  const rows = entities.map((e) => [
    e.id.toString(),
    formatTime(e.lastModifiedTime),
    e.lockedBy ?? "",
    String(e.backlogQueueSize),
    ...(withState ? [formatValue(e.state)] : []),
  ]);
  return renderTable(headers, rows);
}

const entities: CommandSpec = {
  name: "entities",
  summary: "list entities (those with state; --transient adds locked or emptied ones)",
  positionals: [],
  options: {
    name: { type: "string", valueName: "N", description: "only entities named N (case-insensitive)" },
    prefix: { type: "string", valueName: "K", description: "only keys starting with K (needs --name)" },
    state: { type: "boolean", description: "show each entity's state" },
    transient: { type: "boolean", description: "include entities without state" },
    "page-size": { type: "string", valueName: "N", description: "entities per page, 1-1000 (default 100)" },
    "continuation-token": { type: "string", valueName: "T", description: "continue after this page" },
    all: { type: "boolean", description: "fetch every page" },
  },
  prepare(args) {
    const query: EntityQuery = { includeState: args.values.state === true };
    const name = stringOption(args, "name");
    const prefix = stringOption(args, "prefix");
    if (prefix !== undefined && name === undefined) throw new UsageError("--prefix needs --name", "entities");
    if (name !== undefined) query.entityName = name;
    if (prefix !== undefined) query.keyPrefix = prefix;
    if (args.values.transient === true) query.includeTransient = true;
    const pageSize = stringOption(args, "page-size");
    if (pageSize !== undefined) query.pageSize = parseInteger(pageSize, "--page-size", "entities", 1, 1000);
    const token = stringOption(args, "continuation-token");
    if (token !== undefined) query.continuationToken = token;
    const all = args.values.all === true;
    return async (client: DurableClient) => {
      const found: EntityMetadata[] = [];
      let continuationToken = query.continuationToken;
      do {
        const page = await client.listEntities({ ...query, continuationToken });
        found.push(...page.entities);
        continuationToken = page.continuationToken;
      } while (all && continuationToken);
      const table = found.length ? renderEntities(found, query.includeState === true) : "no entities found";
      const hint = continuationToken
        ? `\n\nmore entities: run again with --continuation-token ${continuationToken}`
        : "";
      const list = found.map(entityJson);
      return {
        json: continuationToken ? { entities: list, continuationToken } : { entities: list },
        text: table + hint,
      };
    };
  },
};

const entity: CommandSpec = {
  name: "entity",
  summary: "show an entity's state",
  positionals: [ENTITY_ARGUMENT],
  options: {},
  details: "Exit code 1 when the entity has no state.",
  prepare(args) {
    const id = entityArgument(args.positionals[0]!, "entity");
    return async (client: DurableClient) => {
      const { entityExists, entityState } = await client.readEntityState(id);
      const json = { id: id.toString(), entityExists, ...(entityExists ? { entityState } : {}) };
      const text = entityExists
        ? renderKeyValues([
            ["entity", id.toString()],
            ["state", JSON.stringify(entityState, null, 2)],
          ])
        : `entity '${id}' has no state`;
      return { json, text, exitCode: entityExists ? 0 : 1 };
    };
  },
};

const signal: CommandSpec = {
  name: "signal",
  summary: "send an operation to an entity (one-way; the app's workers run it)",
  positionals: [
    ENTITY_ARGUMENT,
    { name: "operation", required: true, description: "operation name" },
    { name: "input", required: false, description: "operation input as JSON (default: none)" },
  ],
  options: {
    at: {
      type: "string",
      valueName: "ISO",
      description: "deliver the operation at this time instead of now",
    },
  },
  prepare(args) {
    const [idText, operation, inputText] = args.positionals as [string, string, string | undefined];
    const id = entityArgument(idText, "signal");
    const input = inputText === undefined ? undefined : parseJson(inputText, "<input>", "signal");
    const at = stringOption(args, "at");
    const signalTime = at === undefined ? undefined : parseDate(at, "--at", "signal");
    return async (client: DurableClient) => {
      await client.signalEntity(id, operation, input, signalTime ? { signalTime } : {});
      return {
        json: {
          id: id.toString(),
          operation,
          ...(signalTime ? { signalTime: signalTime.toISOString() } : {}),
        },
        text: `signalled '${operation}' to entity '${id}'${signalTime ? ` for ${signalTime.toISOString()}` : ""}`,
      };
    };
  },
};

const cleanEntities: CommandSpec = {
  name: "clean-entities",
  summary: "release locks of orchestrations that no longer run and delete empty entities",
  positionals: [],
  options: {
    "keep-empty": { type: "boolean", description: "do not delete empty entities" },
    "keep-locks": { type: "boolean", description: "do not release orphaned locks" },
  },
  prepare(args) {
    const options = {
      removeEmptyEntities: args.values["keep-empty"] !== true,
      releaseOrphanedLocks: args.values["keep-locks"] !== true,
    };
    return async (client: DurableClient) => {
      const result = await client.cleanEntityStorage(options);
      return {
        json: result,
        text: `removed ${result.emptyEntitiesRemoved} empty entities, released ${result.orphanedLocksReleased} orphaned locks`,
      };
    };
  },
};

/** The entity commands, in help order. */
export const ENTITY_COMMANDS: readonly CommandSpec[] = [entities, entity, signal, cleanEntities];
