/** Shared helpers of the core tests: run an executor over built histories and compare actions. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { CompleteOrchestrationAction, OrchestratorAction } from "../../src/core/actions.js";
import type { OrchestrationContext } from "../../src/core/context.js";
import type { FailureDetails } from "../../src/core/errors.js";
import type { HistoryEvent } from "../../src/core/events.js";
import type { InboxMessage, InstanceRecord } from "../../src/core/records.js";
import {
  type ExecutionResult,
  type ExecutorOptions,
  OrchestrationExecutor,
  type OrchestratorFunction,
} from "../../src/core/replay.js";
import { runOrchestrationStep, type StepOutput } from "../../src/core/runtime-state.js";
import type { Task } from "../../src/core/tasks.js";
import { HistoryBuilder, type HistoryBuilderOptions, inboxMessages } from "../../src/testing/history.js";

export const INSTANCE = "inst-1";
export const START = new Date("2024-01-01T00:00:00.000Z");

/** A history builder for instance `inst-1` of orchestrator `Orch`. */
export function hb(options: Partial<HistoryBuilderOptions> = {}): HistoryBuilder {
  return new HistoryBuilder({ instanceId: INSTANCE, name: "Orch", start: START, ...options });
}

/** JSON text of a value: the payload form the codec produces. */
export const j = (value: unknown): string => JSON.stringify(value);

/** A generator orchestrator, typed for tests. */
export type Orchestrator = (ctx: OrchestrationContext<unknown>) => Generator<Task<unknown>, unknown, unknown>;

/** Widens an orchestrator with a typed input to the executor's function type. */
export function typed<I>(fn: OrchestratorFunction<I>): OrchestratorFunction {
  return fn as unknown as OrchestratorFunction;
}

/** Runs a fresh executor over `past` then `fresh`. */
export function run(
  fn: OrchestratorFunction,
  past: readonly HistoryEvent[],
  fresh: readonly HistoryEvent[],
  options: Partial<ExecutorOptions> = {},
): ExecutionResult {
  const executor = new OrchestrationExecutor(fn, { instanceId: INSTANCE, logSink: () => {}, ...options });
  return executor.execute(past, fresh);
}

/** Drops `undefined` properties so expectations need not spell them out. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Expected shape of an action (undefined fields omitted). */
export type ActionShape = Partial<OrchestratorAction> & Pick<OrchestratorAction, "kind" | "id">;

/** Asserts the non-completion actions exactly. */
export function assertActions(result: ExecutionResult, expected: readonly ActionShape[]): void {
  const actual = result.actions.filter((a) => a.kind !== "CompleteOrchestration");
  assert.deepEqual(plain(actual), plain(expected));
}

/** Returns the completion, asserting it exists and has `status`. */
export function completion(
  result: ExecutionResult,
  status: CompleteOrchestrationAction["status"],
): CompleteOrchestrationAction {
  assert.ok(result.completion, `expected a ${status} completion, got none`);
  assert.equal(result.completion.status, status, JSON.stringify(result.completion.failure ?? {}));
  assert.equal(result.actions.at(-1), result.completion, "the completion is the last action");
  return result.completion;
}

/** Returns the failure details of a Failed completion. */
export function failure(result: ExecutionResult): FailureDetails {
  const done = completion(result, "Failed");
  assert.ok(done.failure, "a Failed completion carries failure details");
  return done.failure;
}

/** What a table case expects. */
export interface Expect {
  /** Exact non-completion actions. */
  actions?: ActionShape[];
  /** `undefined` asserts there is no completion; otherwise the completion's fields. */
  completion?: Partial<CompleteOrchestrationAction> | "none";
  /** Failure code of a Failed completion. */
  failureCode?: string;
  /** Further checks. */
  check?: (result: ExecutionResult) => void;
}

/** A table-driven case: an orchestrator over recorded and new events. */
export interface Case {
  name: string;
  orchestrator: Orchestrator;
  past: HistoryEvent[];
  fresh: HistoryEvent[];
  options?: Partial<ExecutorOptions>;
  expect: Expect;
}

/** Runs one table case as a test. */
export function runCase(c: Case): void {
  test(c.name, () => {
    const result = run(c.orchestrator, c.past, c.fresh, c.options);
    if (c.expect.actions) assertActions(result, c.expect.actions);
    if (c.expect.completion === "none") {
      assert.equal(
        result.completion,
        undefined,
        `unexpected completion ${JSON.stringify(result.completion)}`,
      );
    } else if (c.expect.completion) {
      assert.ok(result.completion, "expected a completion");
      const actual = plain(result.completion) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(plain(c.expect.completion))) {
        assert.deepEqual(actual[key], value, `completion.${key}`);
      }
    }
    if (c.expect.failureCode) assert.equal(failure(result).code, c.expect.failureCode);
    c.expect.check?.(result);
  });
}

/** An orchestrator that finishes without waiting: `body`'s return value (or throw) is the outcome. */
export function immediate(body: (ctx: OrchestrationContext<unknown>) => unknown): Orchestrator {
  // biome-ignore lint/correctness/useYield: an orchestrator that never waits is valid
  return function* (ctx) {
    return body(ctx);
  };
}

/** The time of steps run with `step()`. */
export const NOW = new Date("2024-01-02T00:00:00.000Z");
/** The execution ID of built histories. */
export const EXEC = "exec-1";

/** Runs `runOrchestrationStep` at `NOW`; new execution IDs are `new-exec-1`, `new-exec-2`, … */
export function step(
  fn: Orchestrator,
  instance: InstanceRecord,
  history: HistoryEvent[],
  messages: InboxMessage[],
): StepOutput {
  let n = 0;
  const newExecutionId = () => `new-exec-${++n}`;
  return runOrchestrationStep(
    fn,
    { instance, history, messages, now: NOW, newExecutionId },
    { logSink: () => {} },
  );
}

/** The kinds of some events. */
export const kinds = (events: readonly HistoryEvent[]) => events.map((e) => e.kind);

/** Events as inbox messages of `inst-1` (m1, m2, …), optionally targeted at one execution. */
export const inbox = (events: HistoryEvent[], executionId?: string): InboxMessage[] =>
  inboxMessages(INSTANCE, events, executionId === undefined ? {} : { executionId });
