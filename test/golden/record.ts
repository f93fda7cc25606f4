/**
 * Records the golden histories: runs every demo scenario on an in-memory hub and writes each
 * instance's final history to test/golden/histories/<instance>.json. Run it only when an example
 * changes on purpose: `npm run build && node dist/test/golden/record.js`, then review the diff.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { demoScenarios } from "../../src/demo/scenarios.js";
import { GOLDEN_DIR, goldenHub } from "./hub.js";

const { hub, examples } = goldenHub();
await hub.start();
const scenarios = demoScenarios(examples);
for (const s of scenarios) {
  await hub.client.startNew(s.orchestrator, { instanceId: s.instanceId, input: s.input });
  if (s.raise) {
    const { eventName, data, afterMs } = s.raise;
    setTimeout(() => void hub.client.raiseEvent(s.instanceId, eventName, data), afterMs);
  }
}
mkdirSync(GOLDEN_DIR, { recursive: true });
for (const s of scenarios) {
  const status = await hub.client.waitForCompletion(s.instanceId, { timeoutMs: 60_000 });
  const history = await hub.store.getHistory(hub.name, s.instanceId);
  const file = join(GOLDEN_DIR, `${s.instanceId}.json`);
  const golden = { orchestrator: status.name, instanceId: s.instanceId, output: status.output, history };
  writeFileSync(file, `${JSON.stringify(golden, null, 2)}\n`);
  console.log(`${file}: ${status.runtimeStatus}, ${history.length} events`);
}
await hub.stop();
