/**
 * examples/observability.ts: the documented setup produces one trace for the order, with the
 * charge's failed first attempt recorded on its span.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createHub, installTracing, runOrder } from "../../examples/observability.js";

test("the observability example traces an order end to end", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = installTracing(exporter);
  try {
    assert.deepEqual(await runOrder(createHub(), "lamp"), {
      receipt: "receipt-for-reservation-lamp",
      parcel: "reservation-box-reservation-lamp",
    });
    const spans = exporter.getFinishedSpans();
    assert.equal(new Set(spans.map((s) => s.spanContext().traceId)).size, 1);
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      "activity:Charge",
      "activity:Charge",
      "activity:Reserve",
      "activity:Reserve",
      "orchestration:Order",
      "orchestration:Ship",
      "sub-orchestration:Ship",
      "timer",
    ]);
    const failed = spans.filter((s) => s.status.code === SpanStatusCode.ERROR);
    assert.deepEqual(
      failed.map((s) => [s.name, s.attributes["refrain.attempt"]]),
      [["activity:Charge", 1]],
    );
  } finally {
    await provider.shutdown();
  }
});
