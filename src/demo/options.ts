/**
 * Command-line options of the demo app (`npm start -- [--db PATH] [--exit-when-done]`), with
 * their environment-variable fallbacks.
 */

/** The database the demo uses when neither `--db` nor `REFRAIN_DB` is given. */
export const DEFAULT_DEMO_DB = ".refrain/refrain.db";

/** What the demo was asked to do. */
export interface DemoOptions {
  /** SQLite database file. */
  dbPath: string;
  /** Exit once every demo instance has finished, instead of serving until Ctrl-C. */
  exitWhenDone: boolean;
  /** Print usage and exit. */
  help: boolean;
}

/** Usage text for `--help` and for bad arguments. */
export const DEMO_USAGE = `usage: npm start -- [--db PATH] [--exit-when-done]

  --db PATH         SQLite database file (env REFRAIN_DB; default ${DEFAULT_DEMO_DB})
  --exit-when-done  exit after every demo instance finished (env REFRAIN_DEMO_EXIT=1)
  --help            show this text`;

/** Parses `argv` (without the node and script paths) and `env`; throws on unknown arguments. */
export function parseDemoOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions {
  const options: DemoOptions = {
    dbPath: env.REFRAIN_DB || DEFAULT_DEMO_DB,
    exitWhenDone: env.REFRAIN_DEMO_EXIT === "1",
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--exit-when-done") options.exitWhenDone = true;
    else if (arg === "--help" || arg === "-h") options.help = true;
    else if (arg === "--db") {
      const value = argv[++i];
      if (!value) throw new Error("--db needs a file path");
      options.dbPath = value;
    } else if (arg.startsWith("--db=")) options.dbPath = arg.slice("--db=".length);
    else throw new Error(`unknown argument '${arg}'`);
  }
  return options;
}
