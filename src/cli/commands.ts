/**
 * The registry of `refrain` commands and their help texts (global, per command, and the short
 * usage hint printed after a usage error).
 */
import { type CommandSpec, GLOBAL_OPTIONS, type OptionSpec, type PositionalSpec } from "./args.js";
import { CONTROL_COMMANDS } from "./control-commands.js";
import { ENTITY_COMMANDS } from "./entity-commands.js";
import { MIGRATE_COMMAND } from "./migrate-command.js";
import { QUERY_COMMANDS } from "./query-commands.js";
import { SERVE_COMMAND } from "./serve-command.js";

const HELP_ORDER = [
  "start",
  "status",
  "list",
  "wait",
  "raise",
  "terminate",
  "suspend",
  "resume",
  "rewind",
  "restart",
  "purge",
  "entities",
  "entity",
  "signal",
  "clean-entities",
  "migrate",
  "serve",
];

/** Every command, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  ...CONTROL_COMMANDS,
  ...QUERY_COMMANDS,
  ...ENTITY_COMMANDS,
  MIGRATE_COMMAND,
  SERVE_COMMAND,
].sort((a, b) => HELP_ORDER.indexOf(a.name) - HELP_ORDER.indexOf(b.name));

/** The command with this name, or undefined. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function optionLabel(name: string, option: OptionSpec): string {
  const long = option.valueName ? `--${name} ${option.valueName}` : `--${name}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

function section(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return `${title}:\n${rows.map(([label, text]) => `  ${label.padEnd(width)}${text}`).join("\n")}`;
}

function optionRows(options: Record<string, OptionSpec>): [string, string][] {
  return Object.entries(options).map(([name, option]) => [optionLabel(name, option), option.description]);
}

function positionalLabel(positional: PositionalSpec): string {
  return positional.required ? `<${positional.name}>` : `[${positional.name}]`;
}

/** The usage line of a command, e.g. "refrain raise <id> <event> [data] [options]". */
export function usageLine(spec: CommandSpec): string {
  const args = spec.positionals.map(positionalLabel);
  return ["refrain", spec.name, ...args, "[options]"].join(" ");
}

const EXIT_CODES = "exit codes: 0 success, 1 error, 2 `wait` ended Failed or Terminated, 64 bad usage";

/** The help of `refrain help` / `refrain --help`. */
export function globalHelp(): string {
  const commands: [string, string][] = COMMANDS.map((c) => [c.name, c.summary]);
  commands.push(["help", "show help for a command (refrain help <command>)"]);
  return [
    "refrain: manage the orchestration instances and entities in a Refrain app's database (SQLite or PostgreSQL), without the app's code",
    "",
    "usage: refrain <command> [arguments] [options]",
    "",
    section("commands", commands),
    "",
    section("global options", optionRows(GLOBAL_OPTIONS)),
    "",
    EXIT_CODES,
    "Run 'refrain help <command>' (or 'refrain <command> --help') for a command's options.",
  ].join("\n");
}

/** The help of one command: usage, summary, arguments, options and global options. */
export function commandHelp(spec: CommandSpec): string {
  const parts = [`usage: ${usageLine(spec)}`, "", spec.summary];
  if (spec.details) parts.push("", spec.details);
  if (spec.positionals.length > 0) {
    parts.push(
      "",
      section(
        "arguments",
        spec.positionals.map((p) => [positionalLabel(p), p.description]),
      ),
    );
  }
  if (Object.keys(spec.options).length > 0) parts.push("", section("options", optionRows(spec.options)));
  parts.push("", section("global options", optionRows(GLOBAL_OPTIONS)), "", EXIT_CODES);
  return parts.join("\n");
}

/** The two-line hint printed after a usage error. */
export function usageHint(command: string | undefined): string {
  const spec = command === undefined ? undefined : findCommand(command);
  if (!spec)
    return "usage: refrain <command> [arguments] [options]\nRun 'refrain help' for the list of commands.";
  return `usage: ${usageLine(spec)}\nRun 'refrain ${spec.name} --help' for details.`;
}
