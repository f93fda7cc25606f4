/**
 * What the demo prints: the banner, one line per started instance, one line per finished one.
 * Kept to one line per event so a full run fits on a screen.
 */
import { cliStoreArguments, describeStore, type StoreChoice } from "../cli/database.js";
import type { LogLevel, OrchestrationStatus } from "../index.js";
import type { DemoScenario } from "./scenarios.js";

const MAX_OUTPUT_CHARS = 110;
const ID_WIDTH = "demo-sub-orchestrations".length;

/** The lines printed at start-up: where the data is, how to look at it, how to stop. */
export function banner(store: StoreChoice): string[] {
  const args = cliStoreArguments(store);
  const postgres = store.kind === "postgres";
  const source = postgres && store.source !== "--database-url" ? ` (from ${store.source})` : "";
  return [
    `Refrain demo: one orchestration per Durable Functions pattern, on ${postgres ? "PostgreSQL" : "SQLite"}.`,
    `  database  ${postgres ? describeStore(store).replace(/^PostgreSQL /, "") : store.path}${source}`,
    `  inspect   npx refrain list${args}`,
    `            npx refrain status demo-chaining --history${args}`,
    ...(postgres
      ? ["  scale out run the same command in another terminal: both processes share the work"]
      : []),
    "  Ctrl-C stops cleanly; running the demo again resumes unfinished instances",
    "  (after a kill -9, work the dead process had leased is taken over when its 10 s lease expires).",
    "",
  ];
}

/** A line about one instance being started now or resumed from an earlier run. */
export function startLine(
  scenario: DemoScenario,
  how: "started" | "resumed",
  runtimeStatus?: string,
): string {
  const note = how === "resumed" ? `  (${runtimeStatus} since an earlier run; carrying on)` : "";
  return `${how.padEnd(8)} ${scenario.instanceId.padEnd(ID_WIDTH)}  ${scenario.orchestrator.name}${note}`;
}

/** The line telling a human how they would answer the approval request. */
export function raiseHint(scenario: DemoScenario, store: StoreChoice): string {
  const raise = scenario.raise!;
  const command = `npx refrain raise ${scenario.instanceId} ${raise.eventName} ${JSON.stringify(raise.data)}${cliStoreArguments(store)}`;
  return `waiting  ${scenario.instanceId.padEnd(ID_WIDTH)}  for a human: ${command}  (the demo answers in ${raise.afterMs / 1000} s)`;
}

/** A line an orchestrator wrote with its replay-safe `ctx.log`. */
export function logLine(level: LogLevel, instanceId: string, args: unknown[]): string {
  const text = args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
  return `${"log".padEnd(8)} ${instanceId.padEnd(ID_WIDTH)}  ${level}: ${text}`;
}

/** The line for a finished instance: ID, final status, and its output or failure. */
export function resultLine(
  scenario: DemoScenario,
  status: OrchestrationStatus,
  finishedEarlier: boolean,
): string {
  const ok = status.runtimeStatus === "Completed";
  const detail = ok ? describeOutput(scenario, status.output) : describeFailure(status);
  const earlier = finishedEarlier ? "  (finished in an earlier run)" : "";
  return `${ok ? "✔" : "✘"} ${status.instanceId.padEnd(ID_WIDTH)}  ${status.runtimeStatus.padEnd(9)}  ${detail}${earlier}`;
}

function describeOutput(scenario: DemoScenario, output: unknown): string {
  const text = scenario.summarize ? scenario.summarize(output) : JSON.stringify(output);
  return text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS - 1)}…` : text;
}

function describeFailure(status: OrchestrationStatus): string {
  const failure = status.failureDetails;
  if (!failure) return "";
  return `${failure.name}: ${failure.message}`;
}
