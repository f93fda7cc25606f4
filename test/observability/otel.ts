/**
 * OpenTelemetry SDK test wiring: an in-memory span exporter on a global tracer provider, the
 * AsyncLocalStorage context manager (what NodeSDK installs) and an in-memory metric reader.
 * Each test file runs in its own process, so registering globals here is per file.
 */
import { context, metrics, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** Registers a tracer provider that keeps finished spans in memory. */
export function installTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return exporter;
}

/** Registers a meter provider whose metrics are read on demand with `collect()`. */
export function installMetrics(): { collect: () => Promise<InMemoryMetricExporter> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return {
    collect: async () => {
      await reader.forceFlush();
      return exporter;
    },
  };
}
