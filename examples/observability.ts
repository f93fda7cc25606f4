/**
 * Observing Refrain: structured engine logs, OpenTelemetry traces printed to the console or sent
 * to an OTLP collector, and one orchestration (an activity chain, a retried activity and a
 * sub-orchestration) to watch. Run it with `REFRAIN_LOG_LEVEL=info node dist/examples/observability.js`
 * after `npm run build`; with `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318` the spans go to
 * the collector there instead. `@opentelemetry/sdk-trace-base` and
 * `@opentelemetry/exporter-trace-otlp-http` are devDependencies of Refrain: install them in your
 * application.
 */
import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { createLogger, MemoryStore, TaskHub } from "refrain";

/** Registers an SDK tracer provider that sends every finished span to `exporter`. */
export function installTracing(exporter: SpanExporter = new ConsoleSpanExporter()): BasicTracerProvider {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  return provider;
}

/**
 * The exporter the environment asks for: OTLP over HTTP when an OTLP endpoint is configured (the
 * exporter reads `OTEL_EXPORTER_OTLP_ENDPOINT` and the other standard variables), else the console.
 */
export function exporterFromEnv(env: NodeJS.ProcessEnv = process.env): SpanExporter {
  const otlp = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return otlp ? new OTLPTraceExporter() : new ConsoleSpanExporter();
}

/** A hub with the example's functions; logs as JSON lines at `REFRAIN_LOG_LEVEL` (default warn). */
export function createHub(): TaskHub {
  const hub = new TaskHub({ store: new MemoryStore(), logger: createLogger({ format: "json" }) });
  const reserve = hub.activity("Reserve", (item: string) => `reservation-${item}`);
  const charge = hub.activity("Charge", (reservation: string, ctx) => {
    if (ctx.attempt === 1) throw new Error("card network timeout"); // recorded on the first attempt's span
    return `receipt-for-${reservation}`;
  });
  const ship = hub.orchestrator("Ship", function* (ctx) {
    return yield* ctx.callActivity(reserve, `box-${ctx.getInput<string>()}`);
  });
  hub.orchestrator("Order", function* (ctx) {
    const reservation = yield* ctx.callActivity(reserve, ctx.getInput<string>());
    const receipt = yield* ctx.callActivityWithRetry(
      charge,
      { maxNumberOfAttempts: 3, firstRetryIntervalMs: 50 },
      reservation,
    );
    const parcel = yield* ctx.callSubOrchestrator(ship, reservation);
    return { receipt, parcel };
  });
  return hub;
}

/** Runs one order to completion and returns its output. */
export async function runOrder(hub: TaskHub, item: string): Promise<unknown> {
  await hub.start();
  try {
    const id = await hub.client.startNew("Order", { input: item });
    return (await hub.client.waitForCompletion(id, { timeoutMs: 30_000 })).output;
  } finally {
    await hub.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const provider = installTracing(exporterFromEnv());
  console.log(await runOrder(createHub(), "lamp"));
  await provider.shutdown();
}
