/**
 * The OpenAPI 3.1 description of the HTTP API, written by hand and served at `GET /openapi.json`.
 * A test checks that every route the router knows, with its query parameters, appears here.
 */

const P = "/runtime/webhooks/durabletask";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function problem(description: string): Json {
  return {
    description,
    content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  };
}

function query(name: string, description: string, schema: Json = { type: "string" }, required = false): Json {
  return { name, in: "query", required, description, schema };
}

function path(name: string, description: string): Json {
  return { name, in: "path", required: true, description, schema: { type: "string", maxLength: 256 } };
}

const instanceId = path("instanceId", "instance ID");
const entityName = path("entityName", "entity name (case-insensitive, no '@')");
const entityKey = path("entityKey", "entity key");
const common: Json[] = [
  query("taskHub", "task hub name; must be the served hub's when given"),
  query("connection", "accepted and ignored (Durable Functions compatibility)"),
  query("code", "the access key, when not sent as the x-refrain-key header"),
];
const reason = query("reason", "reason, kept in the instance's history");
const bool = { type: "string", enum: ["true", "false"] };
const dateTime = { type: "string", format: "date-time" };
const statuses = {
  type: "string",
  description: "comma-separated runtime statuses, e.g. Failed,Terminated",
};

const jsonBody: Json = {
  required: false,
  description: "any JSON value; an empty body means none",
  content: { "application/json": { schema: {} } },
};

const accepted: Json = {
  description: "accepted; the payload holds the instance's management URLs",
  headers: {
    Location: { description: "status URL", schema: { type: "string" } },
    "Retry-After": { description: "seconds to wait before polling", schema: { type: "integer" } },
  },
  content: { "application/json": { schema: { $ref: "#/components/schemas/ManagementPayload" } } },
};

const noContent: Json = { description: "accepted" };
const errors: Record<string, Json> = {
  "400": problem("invalid path, query or body"),
  "401": problem("missing or wrong key"),
  "404": problem("unknown instance"),
};

function op(operationId: string, summary: string, extra: Record<string, Json>): Json {
  return { operationId, summary, ...extra };
}

function control(name: string, summary: string, gone: string): Json {
  return {
    post: op(name, summary, {
      parameters: [instanceId, reason, ...common],
      responses: { "202": noContent, ...errors, "410": problem(gone) },
    }),
  };
}

const statusSchema: Json = {
  type: "object",
  required: ["name", "instanceId", "runtimeStatus", "createdTime", "lastUpdatedTime"],
  properties: {
    name: { type: "string" },
    instanceId: { type: "string" },
    runtimeStatus: {
      type: "string",
      enum: ["Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Terminated", "Suspended"],
    },
    input: {},
    customStatus: {},
    output: {},
    createdTime: dateTime,
    lastUpdatedTime: dateTime,
    completedTime: dateTime,
    failureDetails: { type: "object" },
    parentInstanceId: { type: "string" },
    historyEvents: { type: "array", items: { type: "object" } },
  },
};

const uri = { type: "string", format: "uri" };

const entityListQuery: Json[] = [
  query("fetchState", "include each entity's state (default false)", bool),
  query("includeTransient", "include entities without state (default false)", bool),
  query("top", "page size, 1 to 1000 (default 100)", { type: "integer", minimum: 1, maximum: 1000 }),
  { name: "x-ms-continuation-token", in: "header", required: false, schema: { type: "string" } },
];

const entityPage: Json = {
  description:
    "the page (it may hold fewer than top entities); x-ms-continuation-token is set when more may follow",
  headers: { "x-ms-continuation-token": { schema: { type: "string" } } },
  content: {
    "application/json": {
      schema: {
        type: "array",
        items: {
          type: "object",
          required: ["entityId", "lastOperationTime", "backlogQueueSize"],
          properties: {
            entityId: {
              type: "object",
              properties: { name: { type: "string" }, key: { type: "string" } },
            },
            lastOperationTime: dateTime,
            state: {},
            lockedBy: { type: "string" },
            backlogQueueSize: { type: "integer" },
          },
        },
      },
    },
  },
};

/** The OpenAPI 3.1 document of the management API. */
export const OPENAPI_DOCUMENT: Json = {
  openapi: "3.1.0",
  info: {
    title: "Refrain management API",
    version: "1",
    description: "Durable Functions-compatible management of orchestration instances and entities.",
  },
  components: {
    securitySchemes: {
      header: { type: "apiKey", in: "header", name: "x-refrain-key" },
      query: { type: "apiKey", in: "query", name: "code" },
    },
    schemas: {
      Problem: {
        type: "object",
        required: ["type", "title", "status", "detail", "code"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          code: { type: "string" },
        },
      },
      Status: statusSchema,
      ManagementPayload: {
        type: "object",
        properties: {
          id: { type: "string" },
          statusQueryGetUri: uri,
          sendEventPostUri: uri,
          terminatePostUri: uri,
          rewindPostUri: uri,
          purgeHistoryDeleteUri: uri,
          restartPostUri: uri,
          suspendPostUri: uri,
          resumePostUri: uri,
        },
      },
      Purged: { type: "object", properties: { instancesDeleted: { type: "integer" } } },
      Counts: {
        type: "object",
        required: ["counts", "total", "complete"],
        properties: {
          counts: {
            type: "object",
            description: "instances per runtime status, every status present",
            additionalProperties: { type: "integer" },
          },
          total: { type: "integer" },
          complete: { type: "boolean", description: "false when the scan stopped at 10,000 instances" },
        },
      },
    },
  },
  security: [{}, { header: [] }, { query: [] }],
  paths: {
    [`${P}/orchestrators/{functionName}`]: {
      post: op("startNew", "start an orchestration with a new instance ID", {
        parameters: [path("functionName", "orchestrator name"), ...common],
        requestBody: jsonBody,
        responses: {
          "202": accepted,
          ...errors,
          "404": problem("unknown orchestrator"),
          "413": problem("body too large"),
          "415": problem("body is not application/json"),
        },
      }),
    },
    [`${P}/orchestrators/{functionName}/{instanceId}`]: {
      post: op("startNewWithId", "start an orchestration with this instance ID", {
        parameters: [path("functionName", "orchestrator name"), instanceId, ...common],
        requestBody: jsonBody,
        responses: {
          "202": accepted,
          ...errors,
          "404": problem("unknown orchestrator"),
          "409": problem("an instance with this ID is Pending, Running or Suspended"),
          "413": problem("body too large"),
          "415": problem("body is not application/json"),
        },
      }),
    },
    [`${P}/counts`]: {
      get: op("countInstances", "how many instances there are per runtime status", {
        parameters: [
          query("instanceIdPrefix", "only IDs starting with this"),
          query("createdTimeFrom", "created at or after", dateTime),
          query("createdTimeTo", "created at or before", dateTime),
          ...common,
        ],
        responses: {
          "200": {
            description: "the counts",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Counts" } } },
          },
          "400": errors["400"]!,
          "401": errors["401"]!,
        },
      }),
    },
    [`${P}/instances`]: {
      get: op("listInstances", "one page of instances, oldest first", {
        parameters: [
          query("createdTimeFrom", "created at or after", dateTime),
          query("createdTimeTo", "created at or before", dateTime),
          query("runtimeStatus", "only these statuses", statuses),
          query("instanceIdPrefix", "only IDs starting with this"),
          query("showInput", "include inputs (default true)", bool),
          query("top", "page size, 1 to 1000 (default 100)", { type: "integer", minimum: 1, maximum: 1000 }),
          { name: "x-ms-continuation-token", in: "header", required: false, schema: { type: "string" } },
          ...common,
        ],
        responses: {
          "200": {
            description: "the page; x-ms-continuation-token is set when more may follow",
            headers: { "x-ms-continuation-token": { schema: { type: "string" } } },
            content: {
              "application/json": {
                schema: { type: "array", items: { $ref: "#/components/schemas/Status" } },
              },
            },
          },
          "400": errors["400"]!,
          "401": errors["401"]!,
        },
      }),
      delete: op("purgeInstancesBy", "purge finished instances matching a filter", {
        parameters: [
          query("createdTimeFrom", "created at or after (required)", dateTime, true),
          query("createdTimeTo", "created at or before", dateTime),
          query("runtimeStatus", "only these statuses", statuses),
          ...common,
        ],
        responses: {
          "200": {
            description: "purged",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Purged" } } },
          },
          ...errors,
        },
      }),
    },
    [`${P}/instances/{instanceId}`]: {
      get: op("getStatus", "an instance's status", {
        parameters: [
          instanceId,
          query("showHistory", "include the history (default false)", bool),
          query("showHistoryOutput", "include payloads in the history (default false)", bool),
          query("showInput", "include the input (default true)", bool),
          ...common,
        ],
        responses: {
          "200": {
            description: "Completed, Failed or Terminated",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Status" } } },
          },
          "202": {
            description: "Pending, Running, Suspended or ContinuedAsNew; Location and Retry-After set",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Status" } } },
          },
          ...errors,
        },
      }),
      delete: op("purgeInstance", "purge a finished instance and its history", {
        parameters: [instanceId, ...common],
        responses: {
          "200": {
            description: "purged",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Purged" } } },
          },
          ...errors,
          "409": problem("the instance is not finished"),
        },
      }),
    },
    [`${P}/instances/{instanceId}/raiseEvent/{eventName}`]: {
      post: op("raiseEvent", "deliver an external event", {
        parameters: [instanceId, path("eventName", "event name"), ...common],
        requestBody: jsonBody,
        responses: {
          "202": noContent,
          ...errors,
          "410": problem("the instance is finished"),
          "413": problem("body too large"),
          "415": problem("body is not application/json"),
        },
      }),
    },
    [`${P}/instances/{instanceId}/terminate`]: control(
      "terminate",
      "terminate an instance",
      "the instance is finished",
    ),
    [`${P}/instances/{instanceId}/suspend`]: control(
      "suspend",
      "suspend an instance",
      "the instance is finished",
    ),
    [`${P}/instances/{instanceId}/resume`]: control(
      "resume",
      "resume a suspended instance",
      "the instance is finished",
    ),
    [`${P}/instances/{instanceId}/rewind`]: {
      post: op("rewind", "run a Failed instance's failed steps again", {
        parameters: [instanceId, reason, ...common],
        responses: {
          "202": noContent,
          ...errors,
          "409": problem("the instance is not Failed (e.g. still running)"),
          "410": problem("the instance is Completed or Terminated"),
        },
      }),
    },
    [`${P}/instances/{instanceId}/restart`]: {
      post: op("restart", "start the instance's orchestration again with the same input", {
        parameters: [
          instanceId,
          query("restartWithNewInstanceId", "use a new instance ID (default true)", bool),
          ...common,
        ],
        responses: { "202": accepted, ...errors, "409": problem("the instance is still active") },
      }),
    },
    [`${P}/instances/{instanceId}/stream`]: {
      get: op(
        "streamInstance",
        "status and history changes as Server-Sent Events until the instance finishes",
        {
          parameters: [
            instanceId,
            query("showHistoryOutput", "include payloads in history events", bool),
            ...common,
          ],
          responses: {
            "200": {
              description:
                "events `status` (status without history), `history` (one history event), `error` (a problem)",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            ...errors,
          },
        },
      ),
    },
    [`${P}/entities`]: {
      get: op("listEntities", "one page of entities, oldest first", {
        parameters: [...entityListQuery, ...common],
        responses: { "200": entityPage, "400": errors["400"]!, "401": errors["401"]! },
      }),
    },
    [`${P}/entities/{entityName}`]: {
      get: op("listEntitiesByName", "one page of the entities of one name", {
        parameters: [
          entityName,
          ...entityListQuery,
          query("keyPrefix", "only keys starting with this"),
          ...common,
        ],
        responses: { "200": entityPage, "400": errors["400"]!, "401": errors["401"]! },
      }),
    },
    [`${P}/entities/{entityName}/{entityKey}`]: {
      get: op("readEntityState", "an entity's state", {
        parameters: [entityName, entityKey, ...common],
        responses: {
          "200": { description: "the state", content: { "application/json": { schema: {} } } },
          ...errors,
          "404": problem("the entity has no state"),
        },
      }),
      post: op("signalEntity", "send a one-way operation to an entity", {
        parameters: [
          entityName,
          entityKey,
          query("op", "operation name (required)", { type: "string" }, true),
          query("signalTime", "deliver the operation at this time", dateTime),
          ...common,
        ],
        requestBody: jsonBody,
        responses: { "202": noContent, ...errors, "404": problem("the entity name is not registered") },
      }),
    },
    "/openapi.json": {
      get: op("openapi", "this document", {
        parameters: common,
        responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: {} } } } },
      }),
    },
  },
};
