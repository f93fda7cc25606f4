/**
 * A durable counter: the smallest entity. Its state is one number; operations add to it, reset it,
 * read it and delete it. Clients and orchestrations signal it (one-way) or call it (and wait for
 * the result). Operations on one counter run one at a time, in the order they arrive, so no two
 * increments ever race, however many processes send them.
 */
import type { EntityRef, OrchestratorRef, TaskHub } from "refrain";

/** The functions this example registers. */
export interface CounterExample {
  /** Entity: a number; operations add, reset, get, delete. */
  counter: EntityRef<number>;
  /** Orchestrator: adds `amount` to a counter and returns the counter's new value. */
  addAndRead: OrchestratorRef<{ key: string; amount: number }, number>;
}

/** Registers the counter example on `hub`. */
export function register(hub: TaskHub): CounterExample {
  const counter = hub.entity<number>("Counter", (ctx) => {
    switch (ctx.operationName) {
      case "add":
        ctx.setState(ctx.getState(() => 0) + ctx.getInput<number>());
        break;
      case "reset":
        ctx.setState(0);
        break;
      case "get":
        ctx.return(ctx.getState(() => 0));
        break;
      case "delete":
        ctx.destructOnExit();
        break;
      default:
        throw new Error(`Counter has no operation '${ctx.operationName}'`);
    }
  });

  const addAndRead = hub.orchestrator<{ key: string; amount: number }, number>("AddAndRead", function* (ctx) {
    const id = counter.id(ctx.input.key);
    ctx.signalEntity(id, "add", ctx.input.amount); // one-way: no waiting
    return yield* ctx.callEntity<number>(id, "get"); // two-way: runs after the add
  });

  return { counter, addAndRead };
}
