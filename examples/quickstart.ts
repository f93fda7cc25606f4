/**
 * The README's complete example: an order workflow with an activity chain, a fan-out, a durable
 * timer and a human approval. Run it with `node dist/examples/quickstart.js` after `npm run build`.
 */
import { TaskHub } from "refrain";

// A task hub on embedded SQLite (.refrain/refrain.db unless REFRAIN_DB says otherwise).
const hub = new TaskHub({ name: "quickstart" });

// Activities do the real work: I/O, calls to other services. They run at least once.
const reserve = hub.activity("ReserveStock", async (item: string) => ({ item, reserved: true }));
const charge = hub.activity(
  "ChargeCard",
  async (order: { id: string; total: number }) => `receipt-${order.id}`,
);
const notify = hub.activity("Notify", async (message: string) => {
  console.log(`  [notify] ${message}`);
});

// The orchestrator is ordinary procedural code. Every `yield` is a durable checkpoint.
export const processOrder = hub.orchestrator("ProcessOrder", function* (ctx) {
  const order = ctx.getInput<{ id: string; items: string[]; total: number }>();

  // Fan out: reserve every item in parallel, then wait for all of them.
  const reservations = yield* ctx.Task.all(order.items.map((item) => ctx.callActivity(reserve, item)));

  // Large orders need a human: wait for an "Approval" event, or give up after a timeout.
  if (order.total > 100) {
    const deadline = new Date(ctx.currentUtcDateTime.getTime() + 60_000);
    const timeout = ctx.createTimer(deadline);
    const approval = ctx.waitForExternalEvent<boolean>("Approval");
    const winner = yield* ctx.Task.any([approval, timeout]);
    if (winner === timeout) return { id: order.id, status: "expired" };
    timeout.cancel();
    if (!approval.result) return { id: order.id, status: "rejected" };
  }

  const receipt = yield* ctx.callActivity(charge, { id: order.id, total: order.total });
  yield* ctx.callActivity(notify, `order ${order.id} paid: ${receipt}`);
  return { id: order.id, status: "paid", receipt, reserved: reservations.length };
});

export { hub };

/** Starts the workers, runs one large order through its approval, and prints the result. */
export async function main(): Promise<void> {
  await hub.start();
  const id = await hub.client.startNew(processOrder, {
    input: { id: "B-2", items: ["desk", "lamp"], total: 420 },
  });
  await hub.client.raiseEvent(id, "Approval", true); // a human, days later, from anywhere
  const status = await hub.client.waitForCompletion(id, { timeoutMs: 30_000 });
  console.log(status.runtimeStatus, status.output); // Completed { id: 'B-2', status: 'paid', ... }
  await hub.stop();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
