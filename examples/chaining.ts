/**
 * Function chaining: call activities one after another, feeding each result into the next step.
 *
 * The orchestrator reads like ordinary sequential code, but every `yield*` is a durable
 * checkpoint: if the process dies after "Tokyo" was greeted, a restarted worker replays the
 * recorded result instead of calling the activity again, and carries on with "Seattle".
 */
import type { ActivityRef, OrchestrationContext, OrchestratorRef, TaskHub } from "refrain";

/** The functions this example registers. */
export interface ChainingExample {
  /** Activity: returns a greeting for one city. */
  sayHello: ActivityRef<string, string>;
  /** Orchestrator: greets each city of its input in turn and returns the greetings. */
  helloCities: OrchestratorRef<string[], string[]>;
}

/** Registers the function-chaining example on `hub`. */
export function register(hub: TaskHub): ChainingExample {
  // Activities do the real work. They may do I/O, read the clock, call services...
  const sayHello = hub.activity("SayHello", async (city: string) => `Hello ${city}!`);

  // Orchestrators only coordinate. They must be deterministic: no I/O, no Date.now(), no
  // Math.random(); everything non-deterministic happens in activities.
  const helloCities = hub.orchestrator("HelloCities", function* (ctx: OrchestrationContext<string[]>) {
    const greetings: string[] = [];
    for (const city of ctx.input) {
      // `yield*` waits for the activity and gives back its typed result (here: string).
      const greeting = yield* ctx.callActivity(sayHello, city);
      greetings.push(greeting);
    }
    return greetings;
  });

  return { sayHello, helloCities };
}
