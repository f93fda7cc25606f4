/**
 * examples/observability.ts: the documented setup produces one trace for the order, with the
 * charge's failed first attempt recorded on its span, and sends it to an OTLP collector when one
 * is configured.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { createHub, exporterFromEnv, installTracing, runOrder } from "../../examples/observability.js";

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

test("with an OTLP endpoint, the example's spans reach the collector over HTTP", async () => {
  const received: { path: string; body: OtlpTraces }[] = [];
  const collector = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(body) as OtlpTraces });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const { port } = collector.address() as AddressInfo;
  const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  trace.disable(); // the API keeps the first provider registered in a process: drop the other test's
  const provider = installTracing(exporterFromEnv());
  try {
    await runOrder(createHub(), "desk");
    await provider.forceFlush();
  } finally {
    await provider.shutdown();
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
    await new Promise((resolve) => collector.close(resolve));
  }
  const spans = received.flatMap(({ body }) =>
    body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
  );
  assert.ok(
    received.every((r) => r.path === "/v1/traces"),
    "the standard OTLP/HTTP traces path",
  );
  const order = spans.find((s) => s.name === "orchestration:Order");
  assert.ok(order, `the orchestration span arrived (got ${spans.map((s) => s.name).join(", ")})`);
  assert.ok(
    order.attributes.some((a) => a.key === "refrain.instance_id" && typeof a.value.stringValue === "string"),
    "with the instance ID",
  );
  assert.equal(spans.filter((s) => s.name.startsWith("activity:")).length, 4);
});

/** The parts of an OTLP/HTTP JSON traces request the test reads. */
interface OtlpTraces {
  resourceSpans: {
    scopeSpans: {
      spans: { name: string; attributes: { key: string; value: { stringValue?: string } }[] }[];
    }[];
  }[];
}
