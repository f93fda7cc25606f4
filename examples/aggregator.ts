/**
 * An aggregator fed by signals: sensors (or any number of orchestrations, processes and clients)
 * signal readings to one entity per device, which keeps running statistics. Signals are one-way
 * and cheap; a busy aggregator takes every reading that queued up in one batch, committed once.
 * Readers get a consistent snapshot with `readEntityState` or by calling the entity.
 */
import type { EntityRef, OrchestratorRef, TaskHub } from "refrain";

/** Running statistics of one device's readings. */
export interface Stats {
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The functions this example registers. */
export interface AggregatorExample {
  /** Entity: statistics; operations record (a number), reset, stats. */
  aggregator: EntityRef<Stats>;
  /** Orchestrator: collects a batch of readings from an activity and signals each to the device's aggregator. */
  collectReadings: OrchestratorRef<{ deviceId: string; count: number }, number>;
}

/** Registers the aggregator example on `hub`. */
export function register(hub: TaskHub): AggregatorExample {
  const aggregator = hub.entity<Stats>("Aggregator", (ctx) => {
    switch (ctx.operationName) {
      case "record": {
        const value = ctx.getInput<number>();
        if (typeof value !== "number" || !Number.isFinite(value))
          throw new TypeError(`not a reading: ${value}`);
        const s = ctx.getState(() => ({ count: 0, sum: 0, min: value, max: value }));
        ctx.setState({
          count: s.count + 1,
          sum: s.sum + value,
          min: Math.min(s.min, value),
          max: Math.max(s.max, value),
        });
        return;
      }
      case "reset":
        ctx.destructOnExit();
        return;
      case "stats":
        return ctx.getState();
      default:
        throw new Error(`Aggregator has no operation '${ctx.operationName}'`);
    }
  });

  const readSensor = hub.activity("ReadSensor", async (input: { deviceId: string; i: number }) => {
    // A real app would call the device; here readings are a deterministic wave.
    return Math.round(20 + 5 * Math.sin(input.i));
  });

  const collectReadings = hub.orchestrator<{ deviceId: string; count: number }, number>(
    "CollectReadings",
    function* (ctx) {
      const { deviceId, count } = ctx.input;
      const readings = yield* ctx.Task.all(
        Array.from({ length: count }, (_, i) => ctx.callActivity(readSensor, { deviceId, i })),
      );
      for (const value of readings) ctx.signalEntity(aggregator.id(deviceId), "record", value);
      return readings.length;
    },
  );

  return { aggregator, collectReadings };
}
