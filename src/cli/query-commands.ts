/**
 * The read commands of `refrain`: `status`, `list` and `wait`. Each checks its arguments in
 * `prepare` (before the database is opened) and returns both a JSON document and text.
 */
import type { DurableClient, ListInstancesQuery } from "../client.js";
import { InstanceNotFoundError } from "../core/errors.js";
import type { OrchestrationStatus, StatusOptions } from "../status.js";
import {
  type CommandSpec,
  type OptionSpec,
  type ParsedArgs,
  parseDate,
  parseInteger,
  parseStatuses,
  stringOption,
  UsageError,
} from "./args.js";
import { renderHistory, renderInstanceTable, renderStatus } from "./format.js";

/** Exit code of `refrain wait` when the instance ended Failed or Terminated. */
export const EXIT_NOT_COMPLETED = 2;

/** The `--created-from`/`--created-to` options shared by `list` and `purge`. */
export const CREATED_RANGE_OPTIONS: Record<string, OptionSpec> = {
  "created-from": {
    type: "string",
    valueName: "ISO",
    description: "only instances created at or after this time",
  },
  "created-to": {
    type: "string",
    valueName: "ISO",
    description: "only instances created before this time (exclusive)",
  },
};

/** Reads `--status`, `--created-from` and `--created-to` into a filter. */
export function parseInstanceFilter(
  args: ParsedArgs,
  command: string,
): { runtimeStatus?: OrchestrationStatus["runtimeStatus"][]; createdFrom?: Date; createdTo?: Date } {
  const filter: ReturnType<typeof parseInstanceFilter> = {};
  const status = stringOption(args, "status");
  const from = stringOption(args, "created-from");
  const to = stringOption(args, "created-to");
  if (status !== undefined) filter.runtimeStatus = parseStatuses(status, command);
  if (from !== undefined) filter.createdFrom = parseDate(from, "--created-from", command);
  if (to !== undefined) filter.createdTo = parseDate(to, "--created-to", command);
  return filter;
}

async function requireStatus(
  client: DurableClient,
  instanceId: string,
  options: StatusOptions,
): Promise<OrchestrationStatus> {
  const status = await client.getStatus(instanceId, options);
  if (!status) throw new InstanceNotFoundError(instanceId);
  return status;
}

const status: CommandSpec = {
  name: "status",
  summary: "show an instance's status, and optionally its history",
  positionals: [{ name: "id", required: true, description: "instance ID" }],
  options: {
    history: { type: "boolean", description: "also show the history of the current execution" },
    "history-output": {
      type: "boolean",
      description: "show inputs and results in the history (implies --history)",
    },
    "no-input": { type: "boolean", description: "leave out the instance input" },
  },
  prepare(args) {
    const [instanceId] = args.positionals as [string];
    const showHistoryOutput = args.values["history-output"] === true;
    const showHistory = showHistoryOutput || args.values.history === true;
    const showInput = args.values["no-input"] !== true;
    return async (client) => {
      const found = await requireStatus(client, instanceId, { showHistory, showHistoryOutput, showInput });
      const text = found.history
        ? `${renderStatus(found)}\n\nHistory:\n${renderHistory(found.history)}`
        : renderStatus(found);
      return { json: found, text };
    };
  },
};

const MAX_PAGE_SIZE = 1000;

const list: CommandSpec = {
  name: "list",
  summary: "list instances, oldest first, one page at a time",
  positionals: [],
  options: {
    status: {
      type: "string",
      valueName: "S[,S…]",
      description: "only these runtime statuses (e.g. Running,Failed; case-insensitive)",
    },
    prefix: { type: "string", valueName: "P", description: "only instance IDs starting with P" },
    ...CREATED_RANGE_OPTIONS,
    "page-size": {
      type: "string",
      valueName: "N",
      description: `instances per page, 1-${MAX_PAGE_SIZE} (default 100)`,
    },
    "continuation-token": {
      type: "string",
      valueName: "T",
      description: "continue after the page that printed this token",
    },
    all: { type: "boolean", description: "fetch every page" },
  },
  details: "When more instances match, the output ends with the token of the next page.",
  prepare(args) {
    const pageSizeText = stringOption(args, "page-size");
    const query: ListInstancesQuery = {
      ...parseInstanceFilter(args, "list"),
      pageSize:
        pageSizeText === undefined
          ? 100
          : parseInteger(pageSizeText, "--page-size", "list", 1, MAX_PAGE_SIZE),
    };
    const prefix = stringOption(args, "prefix");
    if (prefix !== undefined) query.instanceIdPrefix = prefix;
    const firstToken = stringOption(args, "continuation-token");
    if (firstToken !== undefined) {
      if (firstToken === "") throw new UsageError("--continuation-token must not be empty", "list");
      query.continuationToken = firstToken;
    }
    const all = args.values.all === true;
    return async (client) => {
      const instances: OrchestrationStatus[] = [];
      let continuationToken = query.continuationToken;
      do {
        const page = await client.listInstances({ ...query, continuationToken });
        instances.push(...page.instances);
        continuationToken = page.continuationToken;
      } while (all && continuationToken);
      const table = instances.length ? renderInstanceTable(instances) : "no instances found";
      const hint = continuationToken
        ? `\n\nmore instances: run again with --continuation-token ${continuationToken} (or use --all)`
        : "";
      return {
        json: continuationToken ? { instances, continuationToken } : { instances },
        text: table + hint,
      };
    };
  },
};

const MAX_TIMEOUT_MS = 2_147_483_647;

const wait: CommandSpec = {
  name: "wait",
  summary: "wait until an instance is Completed, Failed or Terminated",
  positionals: [{ name: "id", required: true, description: "instance ID" }],
  options: {
    "timeout-ms": {
      type: "string",
      valueName: "N",
      description: "give up after N milliseconds with error TIMEOUT (default 60000)",
    },
  },
  details: "Prints the final status. Exit code 0 when Completed, 2 when Failed or Terminated, 1 on timeout.",
  prepare(args) {
    const [instanceId] = args.positionals as [string];
    const timeoutText = stringOption(args, "timeout-ms");
    const timeoutMs =
      timeoutText === undefined
        ? 60_000
        : parseInteger(timeoutText, "--timeout-ms", "wait", 0, MAX_TIMEOUT_MS);
    return async (client) => {
      const final = await client.waitForCompletion(instanceId, { timeoutMs, pollMs: 250 });
      const exitCode = final.runtimeStatus === "Completed" ? 0 : EXIT_NOT_COMPLETED;
      return { json: final, text: renderStatus(final), exitCode };
    };
  },
};

/** The read commands, in help order. */
export const QUERY_COMMANDS: readonly CommandSpec[] = [status, list, wait];
