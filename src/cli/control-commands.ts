/**
 * The write commands of `refrain`: `start`, `raise`, `terminate`, `suspend`, `resume`, `rewind`,
 * `restart` and `purge`. Arguments are checked in `prepare`, so bad input changes nothing.
 */
import type { DurableClient, StartNewOptions } from "../client.js";
import { InstanceNotFoundError, InvalidStateError } from "../core/errors.js";
import { isTerminalStatus } from "../core/events.js";
import {
  type CommandOutput,
  type CommandSpec,
  type OptionSpec,
  type ParsedArgs,
  parseDate,
  parseJson,
  stringOption,
  UsageError,
} from "./args.js";
import { CREATED_RANGE_OPTIONS, parseInstanceFilter } from "./query-commands.js";

const ID_ARGUMENT = { name: "id", required: true, description: "instance ID" };
const REASON_OPTION: OptionSpec = {
  type: "string",
  valueName: "R",
  description: "reason, kept in the history",
};

const start: CommandSpec = {
  name: "start",
  summary: "start an orchestration; prints its instance ID",
  positionals: [{ name: "name", required: true, description: "orchestrator name" }],
  options: {
    input: { type: "string", valueName: "JSON", description: "instance input as JSON (e.g. '{\"a\":1}')" },
    id: { type: "string", valueName: "ID", description: "instance ID to use (default: a new UUID)" },
    "start-at": { type: "string", valueName: "ISO", description: "stay Pending until this time" },
  },
  details: "The app's workers run the instance; this command only records the start.",
  prepare(args) {
    const [name] = args.positionals as [string];
    const options: StartNewOptions = {};
    const input = stringOption(args, "input");
    const id = stringOption(args, "id");
    const startAt = stringOption(args, "start-at");
    if (input !== undefined) options.input = parseJson(input, "--input", "start");
    if (id !== undefined) options.instanceId = id;
    if (startAt !== undefined) options.startAt = parseDate(startAt, "--start-at", "start");
    return async (client) => {
      const instanceId = await client.startNew(name, options);
      return { json: { instanceId }, text: instanceId };
    };
  },
};

const raise: CommandSpec = {
  name: "raise",
  summary: "raise an external event on an instance",
  positionals: [
    ID_ARGUMENT,
    { name: "event", required: true, description: "event name" },
    { name: "data", required: false, description: "event data as JSON (default: none)" },
  ],
  options: {},
  prepare(args) {
    const [instanceId, eventName, dataText] = args.positionals as [string, string, string | undefined];
    const data = dataText === undefined ? undefined : parseJson(dataText, "<data>", "raise");
    return async (client) => {
      await client.raiseEvent(instanceId, eventName, data);
      return {
        json: { instanceId, eventName },
        text: `raised event '${eventName}' on instance '${instanceId}'`,
      };
    };
  },
};

/** Builds one of the commands that sends a request to an instance and prints what was requested. */
function requestCommand(
  name: string,
  summary: string,
  done: string,
  options: Record<string, OptionSpec>,
  send: (client: DurableClient, instanceId: string, args: ParsedArgs) => Promise<void>,
  details?: string,
): CommandSpec {
  return {
    name,
    summary,
    positionals: [ID_ARGUMENT],
    options,
    ...(details ? { details } : {}),
    prepare(args) {
      const [instanceId] = args.positionals as [string];
      return async (client): Promise<CommandOutput> => {
        await send(client, instanceId, args);
        return { json: { instanceId, requested: name }, text: `${done} '${instanceId}'` };
      };
    },
  };
}

const terminate = requestCommand(
  "terminate",
  "terminate a running instance",
  "requested termination of",
  {
    reason: REASON_OPTION,
    recursive: { type: "boolean", description: "also terminate its running sub-orchestrations" },
  },
  (client, id, args) =>
    client.terminate(id, stringOption(args, "reason"), { recursive: args.values.recursive === true }),
);

const suspend = requestCommand(
  "suspend",
  "suspend an instance: it keeps its messages but runs no code until resumed",
  "requested suspension of",
  { reason: REASON_OPTION },
  (client, id, args) => client.suspend(id, stringOption(args, "reason")),
);

const resume = requestCommand(
  "resume",
  "resume a suspended instance",
  "requested resumption of",
  { reason: REASON_OPTION },
  (client, id, args) => client.resume(id, stringOption(args, "reason")),
);

const rewind = requestCommand(
  "rewind",
  "make a Failed instance run its failed steps again",
  "requested rewind of",
  { reason: REASON_OPTION },
  (client, id, args) => client.rewind(id, stringOption(args, "reason")),
  "Only Failed instances can be rewound (error INVALID_STATE otherwise).",
);

const restart: CommandSpec = {
  name: "restart",
  summary: "start an instance's orchestration again with the same input; prints the new instance ID",
  positionals: [ID_ARGUMENT],
  options: { "same-id": { type: "boolean", description: "reuse the instance ID instead of a new UUID" } },
  prepare(args) {
    const [instanceId] = args.positionals as [string];
    const restartWithNewInstanceId = args.values["same-id"] !== true;
    return async (client) => {
      const newId = await client.restart(instanceId, { restartWithNewInstanceId });
      return { json: { instanceId: newId, restartedFrom: instanceId }, text: newId };
    };
  },
};

async function purgeOne(client: DurableClient, instanceId: string): Promise<number> {
  const { instancesDeleted } = await client.purgeInstanceHistory(instanceId);
  if (instancesDeleted > 0) return instancesDeleted;
  const found = await client.getStatus(instanceId, { showInput: false });
  if (!found) throw new InstanceNotFoundError(instanceId);
  if (!isTerminalStatus(found.runtimeStatus)) {
    throw new InvalidStateError(
      `instance '${instanceId}' is ${found.runtimeStatus}; only Completed, Failed or Terminated instances can be purged`,
    );
  }
  return instancesDeleted;
}

const purge: CommandSpec = {
  name: "purge",
  summary: "delete finished instances and their history, by ID or by filter",
  positionals: [{ name: "id", required: false, description: "instance ID (or use the filter options)" }],
  options: {
    status: {
      type: "string",
      valueName: "S[,S…]",
      description: "purge instances in these statuses (Completed, Failed, Terminated)",
    },
    ...CREATED_RANGE_OPTIONS,
  },
  details:
    "Give either an instance ID or at least one filter option. Only Completed, Failed and " +
    "Terminated instances are deleted; others matching a filter are left alone.",
  prepare(args) {
    const [instanceId] = args.positionals as [string | undefined];
    const filter = parseInstanceFilter(args, "purge");
    const hasFilter = Object.keys(filter).length > 0;
    if (instanceId !== undefined && hasFilter)
      throw new UsageError("give either an instance ID or filter options, not both", "purge");
    if (instanceId === undefined && !hasFilter)
      throw new UsageError(
        "missing argument <id> (or a filter: --status, --created-from, --created-to)",
        "purge",
      );
    return async (client) => {
      const instancesDeleted =
        instanceId === undefined
          ? (await client.purgeInstanceHistoryBy(filter)).instancesDeleted
          : await purgeOne(client, instanceId);
      const noun = instancesDeleted === 1 ? "instance" : "instances";
      return { json: { instancesDeleted }, text: `purged ${instancesDeleted} ${noun}` };
    };
  },
};

/** The write commands, in help order. */
export const CONTROL_COMMANDS: readonly CommandSpec[] = [
  start,
  raise,
  terminate,
  suspend,
  resume,
  rewind,
  restart,
  purge,
];
