/**
 * `refrain serve app.mjs`: runs an app module's task hub (its workers) and the HTTP management
 * API until SIGINT or SIGTERM. The app module decides its store, so the store-selecting flags are
 * refused here; only where to listen and the access key are options.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createHttpServer, isLoopback } from "../http/server.js";
import type { TaskHub } from "../hub.js";
import {
  CliError,
  type CommandSpec,
  type ParsedArgs,
  parseInteger,
  stringOption,
  UsageError,
} from "./args.js";

/** True for what looks like a TaskHub (duck-typed: the app may load its own copy of refrain). */
function isTaskHub(value: unknown): value is TaskHub {
  const hub = value as Partial<TaskHub> | null;
  return (
    typeof hub === "object" &&
    hub !== null &&
    typeof hub.start === "function" &&
    typeof hub.stop === "function" &&
    typeof hub.name === "string" &&
    typeof hub.client === "object" &&
    typeof hub.store === "object"
  );
}

/** Imports the app module and returns its default export, which must be a TaskHub. */
async function loadApp(path: string): Promise<TaskHub> {
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (err) {
    throw new CliError("APP_LOAD_FAILED", `cannot load app module ${path}: ${(err as Error).message}`);
  }
  if (!isTaskHub(module.default)) {
    throw new CliError("APP_LOAD_FAILED", `${path} must export a TaskHub as its default export`);
  }
  return module.default;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function refuseStoreFlags(args: ParsedArgs): void {
  for (const flag of ["db", "database-url", "schema", "hub"]) {
    if (args.values[flag] !== undefined) {
      throw new UsageError(
        `--${flag} does not apply to serve: the app module chooses its task hub and store`,
        "serve",
      );
    }
  }
}

/** The `serve` command. */
export const SERVE_COMMAND: CommandSpec = {
  name: "serve",
  summary: "run an app module's workers and the HTTP management API until Ctrl-C",
  positionals: [{ name: "app", required: true, description: "ES module whose default export is a TaskHub" }],
  options: {
    port: { type: "string", valueName: "N", description: "port to listen on (default 7071; 0 picks one)" },
    host: { type: "string", valueName: "H", description: "address to bind (default 127.0.0.1)" },
    key: {
      type: "string",
      valueName: "KEY",
      description: "access key required of every request (default: $REFRAIN_HTTP_KEY); needed off loopback",
    },
  },
  details:
    "The app module decides its store (e.g. new TaskHub({ store: new SqliteStore(...) })), so --db, " +
    "--database-url, --schema and --hub are refused. Prints the URL once listening; stops the server " +
    "and the hub gracefully on SIGINT or SIGTERM.",
  prepare(args) {
    refuseStoreFlags(args);
    const [app] = args.positionals as [string];
    const portText = stringOption(args, "port");
    const port = portText === undefined ? 7071 : parseInteger(portText, "--port", "serve", 0, 65535);
    const host = stringOption(args, "host") ?? "127.0.0.1";
    return {
      async onDatabase(_args, env) {
        const key = stringOption(args, "key") ?? (env.REFRAIN_HTTP_KEY || undefined);
        if (!isLoopback(host) && key === undefined) {
          throw new UsageError(`--host ${host} is reachable from other machines: pass --key too`, "serve");
        }
        const hub = await loadApp(app);
        await hub.start();
        let url: string;
        let server: Awaited<ReturnType<typeof createHttpServer>>;
        try {
          server = await createHttpServer(hub, { port, host, ...(key === undefined ? {} : { key }) });
          url = server.url;
        } catch (err) {
          await hub.stop();
          throw err;
        }
        process.stdout.write(`refrain: serving task hub '${hub.name}' at ${url}\n`);
        const signal = await untilSignal();
        await server.close();
        await hub.stop();
        return { json: { url, stoppedBy: signal }, text: `refrain: stopped (${signal})` };
      },
    };
  },
};
