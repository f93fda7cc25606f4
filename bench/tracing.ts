/**
 * `--tracing`: runs the workloads with an OpenTelemetry SDK registered, as an application that
 * exports traces would: the AsyncLocalStorage context manager, a tracer provider, and a batch span
 * processor whose exporter counts the spans and drops them (so the figure is the engine's and the
 * SDK's cost, not a collector's or the network's).
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";

/** An exporter that counts what it is given and sends nothing anywhere. */
class CountingExporter implements SpanExporter {
  spans = 0;

  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {}
}

/** Registers the SDK globally (before any hub starts); returns how many spans were exported so far. */
export function installTracing(): () => number {
  const exporter = new CountingExporter();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }),
  );
  return () => exporter.spans;
}
