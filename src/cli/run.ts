/**
 * `runCli`: the whole `refrain` command as a function of its arguments, environment and output
 * streams, so it runs in-process in tests. It parses and validates everything first, then opens
 * the app's store (a SQLite file or a PostgreSQL schema, never creating it) through a TaskHub
 * with no functions registered.
 */
import { RefrainError } from "../core/errors.js";
import { TaskHub } from "../hub.js";
import {
  CliError,
  type CommandOutput,
  type DatabaseCommand,
  type ParsedArgs,
  type PreparedCommand,
  parseCommandArgs,
  splitCommand,
  stringOption,
  UsageError,
  wantsHelp,
  wantsJson,
} from "./args.js";
import { commandHelp, findCommand, globalHelp, usageHint } from "./commands.js";
import { assertStoreExists, chooseCliStore, openStore } from "./database.js";

/** Where the CLI writes and what environment it reads. Writers receive whole chunks with newlines. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs one `refrain` invocation (argv without "node" and the script) and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const output = await dispatch(argv, io);
    if (typeof output === "string") {
      io.stdout(`${output}\n`);
      return 0;
    }
    io.stdout(wantsJson(argv) ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return output.exitCode ?? 0;
  } catch (err) {
    return reportError(err, io, wantsJson(argv));
  }
}

/** Returns help text, or the output of the command that ran. */
async function dispatch(argv: readonly string[], io: CliIo): Promise<string | CommandOutput> {
  const { command, rest } = splitCommand(argv);
  if (command === undefined) {
    if (wantsHelp(rest)) return globalHelp();
    throw new UsageError(
      rest.length ? `missing command (got only options: ${rest.join(" ")})` : "missing command",
    );
  }
  if (command === "help") return helpCommand(rest);
  const spec = findCommand(command);
  if (!spec) throw new UsageError(`unknown command '${command}'`);
  if (wantsHelp(rest)) return commandHelp(spec);
  const args = parseCommandArgs(spec, rest);
  const prepared = spec.prepare(args);
  if (typeof prepared !== "function") return (prepared as DatabaseCommand).onDatabase(args, io.env);
  return withClient(args, io.env, prepared);
}

const HELP_ARGUMENTS = {
  name: "help",
  positionals: [{ name: "command", required: false, description: "command to explain" }],
  options: {},
};

function helpCommand(rest: readonly string[]): string {
  const [topic] = parseCommandArgs(HELP_ARGUMENTS, rest).positionals;
  if (topic === undefined) return globalHelp();
  const spec = findCommand(topic);
  if (!spec) throw new UsageError(`unknown command '${topic}'`);
  return commandHelp(spec);
}

async function withClient(
  args: ParsedArgs,
  env: NodeJS.ProcessEnv,
  run: PreparedCommand,
): Promise<CommandOutput> {
  const choice = chooseCliStore(args, env);
  await assertStoreExists(choice);
  const hub = new TaskHub({
    name: stringOption(args, "hub") ?? "default",
    store: openStore(choice, "refrain-cli"),
  });
  try {
    return await run(hub.client);
  } finally {
    await hub.stop();
  }
}

function causeLines(err: Error): string[] {
  const lines: string[] = [];
  let cause = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 8; depth++) {
    lines.push(`  caused by: ${cause.message}`);
    cause = cause.cause;
  }
  return lines;
}

/** Prints an error the way the CLI promises and returns the exit code. */
function reportError(err: unknown, io: CliIo, json: boolean): number {
  let code: string;
  let exitCode = 1;
  let human: string;
  if (err instanceof UsageError) {
    code = err.code;
    exitCode = err.exitCode;
    human = `error: ${err.message}\n${usageHint(err.command)}`;
  } else if (err instanceof CliError) {
    code = err.code;
    exitCode = err.exitCode;
    human = `error [${code}]: ${err.message}`;
  } else if (err instanceof RefrainError) {
    code = err.code;
    human = [`error [${code}]: ${err.message}`, ...causeLines(err)].join("\n");
  } else {
    code = "INTERNAL";
    const error = err instanceof Error ? err : new Error(String(err));
    human = `error [INTERNAL]: ${error.message}\nThis is a bug in refrain; please report it with this trace:\n${error.stack}`;
  }
  io.stderr(`${human}\n`);
  if (json) {
    const message = err instanceof Error ? err.message : String(err);
    io.stdout(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  }
  return exitCode;
}
