/**
 * The demo app behind `npm start`: a task hub on SQLite (or PostgreSQL, with `--database-url`)
 * with every example registered, which starts one instance per pattern, reports each as it
 * finishes, serves the HTTP API and dashboard on http://127.0.0.1:7071, and keeps serving until
 * Ctrl-C.
 * Instances have fixed IDs, so a run after a crash or Ctrl-C resumes what is unfinished instead
 * of starting it again.
 */

import { TravelAgency } from "../../examples/error-handling.js";
import { registerAll } from "../../examples/index.js";
import { describeStore, openStore } from "../cli/database.js";
import {
  createHttpServer,
  type DurableClient,
  type HttpServer,
  InstanceAlreadyExistsError,
  type OrchestrationStatus,
  TaskHub,
  TimeoutError,
} from "../index.js";
import { DEMO_USAGE, type DemoOptions, parseDemoOptions } from "./options.js";
import { banner, logLine, raiseHint, resultLine, startLine } from "./report.js";
import { type DemoScenario, demoScenarios, SOLD_OUT_CAR_CITIES } from "./scenarios.js";

const TERMINAL = new Set(["Completed", "Failed", "Terminated"]);

/** Starts the scenario's instance unless one with its ID exists; resolves when it has finished. */
async function runScenario(
  client: DurableClient,
  scenario: DemoScenario,
  options: DemoOptions,
  isStopping: () => boolean,
): Promise<void> {
  const { instanceId } = scenario;
  const existing = await client.getStatus(instanceId, { showInput: false });
  if (existing && TERMINAL.has(existing.runtimeStatus)) {
    // startNew would replace a finished instance; the demo keeps it and shows its result.
    console.log(resultLine(scenario, existing, true));
    return;
  }
  if (existing) {
    console.log(startLine(scenario, "resumed", existing.runtimeStatus));
  } else {
    try {
      await client.startNew(scenario.orchestrator, { instanceId, input: scenario.input });
      console.log(startLine(scenario, "started"));
    } catch (err) {
      if (!(err instanceof InstanceAlreadyExistsError)) throw err;
      console.log(startLine(scenario, "resumed", "running"));
    }
  }
  if (scenario.raise) answerLater(client, scenario, options);
  const status = await waitUntilFinished(client, instanceId, isStopping);
  if (status) console.log(resultLine(scenario, status, false));
}

/** Plays the human of the approval demo: raises the event after a short delay. */
function answerLater(client: DurableClient, scenario: DemoScenario, options: DemoOptions): void {
  const raise = scenario.raise!;
  console.log(raiseHint(scenario, options.store));
  setTimeout(() => {
    client.raiseEvent(scenario.instanceId, raise.eventName, raise.data).catch(() => {
      // Already finished (answered by someone else, or timed out) or shutting down: nothing to do.
    });
  }, raise.afterMs).unref();
}

/** Serves the HTTP API and dashboard; a busy port only costs the dashboard, not the demo. */
async function serveHttp(hub: TaskHub, port: number): Promise<HttpServer | undefined> {
  try {
    const server = await createHttpServer(hub, { port });
    console.log(
      `  http      ${server.url}/dashboard/  (API under ${server.url}/runtime/webhooks/durabletask)\n`,
    );
    return server;
  } catch (err) {
    console.log(`  http      not served: ${(err as Error).message} (pass --port N or --no-http)\n`);
    return undefined;
  }
}

/** Waits for a terminal status; undefined if the demo is stopping first. */
async function waitUntilFinished(
  client: DurableClient,
  instanceId: string,
  isStopping: () => boolean,
): Promise<OrchestrationStatus | undefined> {
  while (!isStopping()) {
    try {
      return await client.waitForCompletion(instanceId, { timeoutMs: 60_000 });
    } catch (err) {
      if (isStopping()) return undefined;
      if (!(err instanceof TimeoutError)) throw err;
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  let options: DemoOptions;
  try {
    options = parseDemoOptions(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`${(err as Error).message}\n${DEMO_USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(DEMO_USAGE);
    return;
  }

  const hub = new TaskHub({
    store: openStore(options.store, "refrain-demo"),
    orchestrationLog: (level, instanceId, args) => console.log(logLine(level, instanceId, args)),
  });
  const scenarios = demoScenarios(registerAll(hub, new TravelAgency({ car: SOLD_OUT_CAR_CITIES })));

  let stopping = false;
  let httpServer: HttpServer | undefined;
  const keepAlive = setInterval(() => {}, 1 << 30);
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log("\nForced exit.");
      process.exit(130);
    }
    stopping = true;
    console.log(`\n${signal}: stopping; unfinished instances resume on the next run.`);
    await httpServer?.close();
    await hub.stop();
    clearInterval(keepAlive);
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  for (const line of banner(options.store)) console.log(line);
  try {
    await hub.start();
  } catch (err) {
    console.error(`Cannot start the demo on ${describeStore(options.store)}: ${(err as Error).message}`);
    process.exit(1);
  }
  const http = options.httpPort === undefined ? undefined : await serveHttp(hub, options.httpPort);
  httpServer = http;
  await Promise.all(scenarios.map((s) => runScenario(hub.client, s, options, () => stopping)));
  if (stopping) return;

  console.log(`\nAll ${scenarios.length} demo instances have finished.`);
  if (options.exitWhenDone) {
    await http?.close();
    await hub.stop();
    clearInterval(keepAlive);
    return;
  }
  console.log("Still serving this hub: start or raise more with the CLI. Ctrl-C stops.");
}

await main();
