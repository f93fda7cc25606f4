/**
 * Command-line options of the demo app (`npm start -- [--db PATH | --database-url URL [--schema S]]
 * [--exit-when-done]`), with their environment-variable fallbacks.
 */
import { chooseStore, DEFAULT_DB_PATH, type StoreChoice } from "../cli/database.js";

/** The database the demo uses when nothing else is chosen. */
export const DEFAULT_DEMO_DB = DEFAULT_DB_PATH;

/** What the demo was asked to do. */
export interface DemoOptions {
  /** Where the demo's state lives: a SQLite file or a PostgreSQL schema. */
  store: StoreChoice;
  /** Exit once every demo instance has finished, instead of serving until Ctrl-C. */
  exitWhenDone: boolean;
  /** Port of the HTTP API and dashboard (0 picks a free one); undefined with --no-http. */
  httpPort: number | undefined;
  /** Print usage and exit. */
  help: boolean;
}

/** Usage text for `--help` and for bad arguments. */
export const DEMO_USAGE = `usage: npm start -- [--db PATH | --database-url URL [--schema NAME]] [--exit-when-done]

  --db PATH           SQLite database file (env REFRAIN_DB; default ${DEFAULT_DEMO_DB})
  --database-url URL  run on PostgreSQL instead, e.g. postgres://user@localhost:5432/db
                      (env REFRAIN_DATABASE_URL, or DATABASE_URL when REFRAIN_DB is not set)
  --schema NAME       PostgreSQL schema of the store (default "refrain")
  --exit-when-done    exit after every demo instance finished (env REFRAIN_DEMO_EXIT=1)
  --port N            HTTP API and dashboard on http://127.0.0.1:N (env REFRAIN_HTTP_PORT; default 7071)
  --no-http           do not serve the HTTP API and dashboard
  --help              show this text

Precedence: --database-url, --db, REFRAIN_DATABASE_URL, REFRAIN_DB, DATABASE_URL, the default file.`;

const VALUE_FLAGS = {
  "--db": "a file path",
  "--database-url": "a URL",
  "--schema": "a schema name",
  "--port": "a port number",
} as const;
type ValueFlag = keyof typeof VALUE_FLAGS;

/** Parses `argv` (without the node and script paths) and `env`; throws on unknown or contradictory arguments. */
export function parseDemoOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions {
  const values: Partial<Record<ValueFlag, string>> = {};
  let exitWhenDone = env.REFRAIN_DEMO_EXIT === "1";
  let help = false;
  let http = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s) : [arg, undefined];
    if (arg === "--exit-when-done") exitWhenDone = true;
    else if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--no-http") http = false;
    else if (name !== undefined && name in VALUE_FLAGS) {
      const flag = name as ValueFlag;
      const value = inline ?? argv[++i];
      if (!value) throw new Error(`${flag} needs ${VALUE_FLAGS[flag]}`);
      values[flag] = value;
    } else throw new Error(`unknown argument '${arg}'`);
  }
  const store = chooseStore(
    { db: values["--db"], databaseUrl: values["--database-url"], schema: values["--schema"] },
    env,
    { acceptDatabaseUrlEnv: true },
  );
  const portText = values["--port"] ?? env.REFRAIN_HTTP_PORT ?? "7071";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535)
    throw new Error(`--port needs a port number, got '${portText}'`);
  return { store, exitWhenDone, help, httpPort: http ? port : undefined };
}
