/**
 * Golden histories: histories recorded from the examples (test/golden/histories, written by
 * record.ts) are replayed against today's code. A change to an example that would break running
 * instances fails here; the second part proves such a change is reported precisely.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { replayHistory } from "refrain/testing";
import type { HistoryEvent, OrchestrationContext } from "../../src/index.js";
import { MemoryStore, TaskHub } from "../../src/index.js";
import { GOLDEN_DIR, goldenHub } from "./hub.js";

interface Golden {
  orchestrator: string;
  instanceId: string;
  output: unknown;
  history: HistoryEvent[];
}

function load(file: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, file), "utf8")) as Golden;
}

const files = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("golden histories replay against the examples", () => {
  test("at least five golden histories are checked in", () => {
    assert.ok(files.length >= 5, `found ${files.length}`);
  });

  for (const file of files) {
    test(`${file} replays to its recorded completion`, () => {
      const golden = load(file);
      const { hub } = goldenHub();
      const outcome = replayHistory(hub, golden.history);
      assert.equal(outcome.failure, undefined, outcome.failure?.message);
      assert.equal(outcome.status, "Completed");
      assert.deepEqual(outcome.newActions, [], "replay must not schedule anything history does not record");
      assert.ok(
        outcome.matchesRecordedCompletion,
        "the output must equal the recorded ExecutionCompleted result",
      );
      assert.deepEqual(outcome.output, golden.output);
    });
  }
});

/** A hub whose HelloCities was edited after demo-chaining ran: the second call changed. */
function editedChainingHub(edit: "renamed-activity" | "dropped-call" | "timer-instead"): TaskHub {
  const hub = new TaskHub({ store: new MemoryStore() });
  hub.activity("SayHello", async (city: string) => `Hello ${city}!`);
  hub.activity("SayGoodbye", async (city: string) => `Goodbye ${city}!`);
  hub.orchestrator("HelloCities", function* (ctx: OrchestrationContext<string[]>) {
    const out: string[] = [];
    out.push(yield* ctx.callActivity<string>("SayHello", ctx.input[0]));
    if (edit === "renamed-activity") out.push(yield* ctx.callActivity<string>("SayGoodbye", ctx.input[1]));
    if (edit === "timer-instead") yield ctx.createTimer(ctx.currentUtcDateTime);
    return out;
  });
  return hub;
}

describe("changed code against a golden history", () => {
  const golden = load("demo-chaining.json");
  const cases = [
    {
      edit: "renamed-activity" as const,
      expect: [
        /instance 'demo-chaining'/,
        /sequence number 1/,
        /activity 'SayHello'/,
        /activity 'SayGoodbye'/,
      ],
    },
    {
      edit: "timer-instead" as const,
      expect: [/sequence number 1/, /activity 'SayHello' scheduled/, /created a timer/],
    },
    {
      edit: "dropped-call" as const,
      expect: [/sequence number 1/, /activity 'SayHello' scheduled/, /did not make this call/],
    },
  ];
  for (const { edit, expect } of cases) {
    test(`${edit}: NonDeterminismError names the instance, the sequence number and both calls`, () => {
      const outcome = replayHistory(editedChainingHub(edit), golden.history);
      assert.equal(outcome.status, "Failed");
      assert.equal(outcome.failure?.code, "NON_DETERMINISM");
      assert.equal(outcome.failure?.name, "NonDeterminismError");
      for (const pattern of expect) assert.match(outcome.failure?.message ?? "", pattern);
    });
  }
});
