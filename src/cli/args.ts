/**
 * Argument handling of the `refrain` command: the shape of a command's specification, splitting
 * the command name from its arguments, strict parsing with `node:util` parseArgs, and the value
 * parsers (JSON, dates, statuses, counts) that turn bad input into a usage error.
 */
import { parseArgs } from "node:util";
import type { DurableClient } from "../client.js";
import { RUNTIME_STATUSES, type RuntimeStatus } from "../core/events.js";

/** Exit code of a usage error (BSD sysexits EX_USAGE). */
export const EXIT_USAGE = 64;

/** An error the CLI reports itself: a stable code, a message and the process exit code. */
export class CliError extends Error {
  constructor(
    /** Machine-readable code, shown as `error [CODE]` and in `--json` output. */
    readonly code: string,
    message: string,
    /** Exit code of the process. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Bad command-line usage; exits with 64 and a usage hint. `command` names the command's help. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose help the hint points to; undefined for the global help. */
    readonly command?: string,
  ) {
    super("USAGE", message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/** One option of a command, as parseArgs knows it plus its help line. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** Placeholder of the value in help, e.g. "JSON" for `--input JSON`. */
  valueName?: string;
  description: string;
}

/** One positional argument of a command. */
export interface PositionalSpec {
  name: string;
  required: boolean;
  description: string;
}

/** Options and positionals of one invocation, after parsing. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** What a command prints: one JSON document for `--json`, text otherwise, and its exit code. */
export interface CommandOutput {
  json: unknown;
  text: string;
  exitCode?: number;
}

/** A command after its arguments were checked: runs against the client of the opened store. */
export type PreparedCommand = (client: DurableClient) => Promise<CommandOutput>;

/**
 * A command that works on the chosen database itself rather than through a client of an existing
 * store (`migrate`): it receives the store-selecting flags and the environment.
 */
export interface DatabaseCommand {
  onDatabase: (args: ParsedArgs, env: NodeJS.ProcessEnv) => Promise<CommandOutput>;
}

/** Everything about one `refrain` command: help text, arguments, and its implementation. */
export interface CommandSpec {
  name: string;
  summary: string;
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
  /** Extra help paragraph. */
  details?: string;
  /** Validates the arguments (throwing `UsageError`) before anything is opened. */
  prepare: (args: ParsedArgs) => PreparedCommand | DatabaseCommand;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  db: {
    type: "string",
    valueName: "PATH",
    description: "SQLite database of the app (default: $REFRAIN_DB or .refrain/refrain.db)",
  },
  "database-url": {
    type: "string",
    valueName: "URL",
    description: "use PostgreSQL instead: postgres://user@host:5432/db (default: $REFRAIN_DATABASE_URL)",
  },
  schema: {
    type: "string",
    valueName: "NAME",
    description: 'PostgreSQL schema of the store (default "refrain")',
  },
  hub: { type: "string", valueName: "NAME", description: 'task hub name (default "default")' },
  json: { type: "boolean", description: "print exactly one JSON document on stdout" },
  help: { type: "boolean", short: "h", description: "show help" },
};

/** True when the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === "--help" || arg === "-h") return true;
  }
  return false;
}

/** True when the arguments contain `--json` (before any `--`); used to format errors. */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).includes("--json");
}

/**
 * Finds the command name: the first argument that is neither an option nor the value of a
 * global option written before it (`refrain --db x.db list`). Returns the rest without it.
 */
export function splitCommand(argv: readonly string[]): { command?: string; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      const name = arg.replace(/^--?/, "");
      if (GLOBAL_OPTIONS[name]?.type === "string") i++;
      continue;
    }
    return { command: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: [...argv] };
}

/** Parses a command's arguments strictly; unknown options and wrong positional counts are usage errors. */
export function parseCommandArgs(
  spec: Pick<CommandSpec, "name" | "positionals" | "options">,
  args: readonly string[],
): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, option] of Object.entries({ ...GLOBAL_OPTIONS, ...spec.options })) {
    options[name] = option.short ? { type: option.type, short: option.short } : { type: option.type };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
      throw new UsageError((err as Error).message, spec.name);
    throw err;
  }
  const max = spec.positionals.length;
  const min = spec.positionals.filter((p) => p.required).length;
  if (parsed.positionals.length < min) {
    const missing = spec.positionals[parsed.positionals.length]!;
    throw new UsageError(`missing argument <${missing.name}>`, spec.name);
  }
  if (parsed.positionals.length > max) {
    throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, spec.name);
  }
  const values: ParsedArgs["values"] = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === "string" || typeof value === "boolean") values[name] = value;
  }
  return { values, positionals: parsed.positionals };
}

/** Reads a string option, or undefined when absent. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Parses a JSON argument; `what` names it in the error ("--input", "<data>"). */
export function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`, command);
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Parses an ISO-8601 date or date-time ("2024-05-01", "2024-05-01T12:00:00Z"). */
export function parseDate(text: string, what: string, command: string): Date {
  const date = ISO_DATE.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `${what} '${text}' is not an ISO-8601 date (e.g. 2024-05-01 or 2024-05-01T12:00:00Z)`,
      command,
    );
  }
  return date;
}

/** Parses a comma-separated list of runtime statuses, case-insensitively ("failed,Terminated"). */
export function parseStatuses(text: string, command: string): RuntimeStatus[] {
  const statuses: RuntimeStatus[] = [];
  for (const part of text.split(",")) {
    const wanted = part.trim().toLowerCase();
    const status = RUNTIME_STATUSES.find((s) => s.toLowerCase() === wanted);
    if (!status) {
      throw new UsageError(
        `unknown status '${part.trim()}' (expected one of ${RUNTIME_STATUSES.join(", ")})`,
        command,
      );
    }
    if (!statuses.includes(status)) statuses.push(status);
  }
  return statuses;
}

/** Parses a whole number from `min` to `max`. */
export function parseInteger(text: string, what: string, command: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, got '${text}'`, command);
  }
  return value;
}
