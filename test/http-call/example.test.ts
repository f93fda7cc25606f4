/** examples/http-call.ts against a local reporting service that answers 202 once, then the report. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { register } from "../../examples/http-call.js";
import { withExampleHub } from "../examples/hub.js";
import { type ScriptedServer, startServer } from "./server.js";

let service: ScriptedServer;

before(async () => {
  service = await startServer({
    "POST /reports": (req, res) => {
      const { month } = JSON.parse(req.body) as { month: string };
      res.writeHead(202, { location: `/reports/${month}`, "retry-after": "0" }).end();
    },
    "GET /reports/2026-10": (_req, res, nth) => {
      if (nth === 1) res.writeHead(202, { location: "/reports/2026-10", "retry-after": "0" }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"total":1234}');
    },
  });
});

after(() => service.close());

describe("durable HTTP example", () => {
  test("the report orchestrator polls the job until the report is ready", () =>
    withExampleHub(register, "sqlite", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.monthlyReport, {
        input: { serviceUrl: service.url, month: "2026-10" },
      });
      const status = await finished(id);
      assert.deepEqual(status.output, { ok: true, report: { total: 1234 } });
      assert.equal(service.count("GET", "/reports/2026-10"), 2);
    }));

  test("a service answering 404 gives ok: false with the status", () =>
    withExampleHub(register, "memory", async ({ hub, refs, finished }) => {
      const id = await hub.client.startNew(refs.monthlyReport, {
        input: { serviceUrl: service.url, month: "1999-01" },
      });
      const status = await finished(id);
      assert.deepEqual(status.output, { ok: false, status: 404, reason: "no route" });
    }));
});
