/**
 * The hub golden histories are recorded with and replayed against: every example registered,
 * with the demo's travel agency (no cars in Reykjavik, so the saga compensates).
 */
import { TravelAgency } from "../../examples/error-handling.js";
import { type AllExamples, registerAll } from "../../examples/index.js";
import { SOLD_OUT_CAR_CITIES } from "../../src/demo/scenarios.js";
import { MemoryStore, TaskHub, type TaskHubOptions } from "../../src/index.js";

/** A hub with every example registered, on a MemoryStore unless options say otherwise. */
export function goldenHub(options: TaskHubOptions = {}): { hub: TaskHub; examples: AllExamples } {
  const hub = new TaskHub({ store: new MemoryStore(), orchestrationLog: () => {}, ...options });
  const examples = registerAll(hub, new TravelAgency({ car: SOLD_OUT_CAR_CITIES }));
  return { hub, examples };
}

/** Where the checked-in golden histories live (relative to the repository root). */
export const GOLDEN_DIR = "test/golden/histories";
