/** The entity routes of the HTTP API: signal, read, list with paging, and their errors. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EntityId } from "../../src/index.js";
import { type ApiFixture, call, P, postJson, problemOf, startApi } from "./fixture.js";

let api: ApiFixture;
before(async () => {
  api = await startApi({ kind: "sqlite" });
});
after(() => api.close());

async function stateBecomes(key: string, value: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await api.hub.client.readEntityState(new EntityId("Counter", key))).entityState !== value) {
    assert.ok(Date.now() < deadline, `counter ${key} never reached ${value}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("entity routes", () => {
  test("POST /entities/{name}/{key}?op= signals (202); GET reads the state (200)", async () => {
    const signalled = await postJson(api.url, `${P}/entities/Counter/http-1?op=add`, 4);
    assert.equal(signalled.status, 202, signalled.text);
    assert.equal(signalled.text, "");
    await postJson(api.url, `${P}/entities/counter/http-1?op=add`, 3);
    await stateBecomes("http-1", 7);
    const read = await call(api.url, `${P}/entities/Counter/http-1`);
    assert.equal(read.status, 200);
    assert.equal(read.json, 7);
  });

  test("a scheduled signal is accepted with signalTime", async () => {
    const at = new Date(Date.now() + 200).toISOString();
    const res = await postJson(
      api.url,
      `${P}/entities/Counter/later?op=add&signalTime=${encodeURIComponent(at)}`,
      1,
    );
    assert.equal(res.status, 202);
    await stateBecomes("later", 1);
  });

  test("GET /entities and /entities/{name} list in pages, with state on request", async () => {
    for (const key of ["page-a", "page-b", "page-c"])
      await postJson(api.url, `${P}/entities/Counter/${key}?op=add`, 1);
    await stateBecomes("page-c", 1);
    const first = await call(api.url, `${P}/entities/Counter?keyPrefix=page-&top=2&fetchState=true`);
    assert.equal(first.status, 200);
    const token = first.headers["x-ms-continuation-token"];
    assert.equal(typeof token, "string");
    const second = await call(api.url, `${P}/entities/Counter?keyPrefix=page-&top=2&fetchState=true`, {
      headers: { "x-ms-continuation-token": String(token) },
    });
    const all = [...(first.json as object[]), ...(second.json as object[])] as {
      entityId: { name: string; key: string };
      state: unknown;
      lastOperationTime: string;
    }[];
    assert.deepEqual(
      all.map((e) => [e.entityId.name, e.entityId.key, e.state]),
      [
        ["counter", "page-a", 1],
        ["counter", "page-b", 1],
        ["counter", "page-c", 1],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(all[0]!.lastOperationTime)));
    const everything = await call(api.url, `${P}/entities`);
    assert.ok((everything.json as unknown[]).length >= 3);
    assert.ok(!("state" in (everything.json as object[])[0]!), "state only with fetchState=true");
  });

  test("errors are problem+json and change nothing", async () => {
    const cases: [string, string, number, string][] = [
      ["POST", `${P}/entities/Counter/x`, 400, "BAD_REQUEST"],
      ["POST", `${P}/entities/Nope/x?op=add`, 404, "ENTITY_NOT_FOUND"],
      ["POST", `${P}/entities/a%40b/x?op=add`, 400, "INVALID_ARGUMENT"],
      ["POST", `${P}/entities/Counter/x?op=add&signalTime=soon`, 400, "BAD_REQUEST"],
      ["GET", `${P}/entities/Counter/never`, 404, "NOT_FOUND"],
      ["GET", `${P}/entities?top=0`, 400, "BAD_REQUEST"],
      ["GET", `${P}/entities?fetchState=maybe`, 400, "BAD_REQUEST"],
      ["DELETE", `${P}/entities/Counter/x`, 405, "METHOD_NOT_ALLOWED"],
    ];
    for (const [method, path, status, code] of cases) {
      const body = method === "POST" ? { headers: { "content-type": "application/json" }, body: "1" } : {};
      const res = await call(api.url, path, { method, ...body });
      assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
      assert.equal(problemOf(res).code, code, `${method} ${path}`);
    }
    const bad = await call(api.url, `${P}/entities/Counter/x?op=add`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assert.equal(bad.status, 400);
    assert.equal((await api.hub.client.readEntityState(new EntityId("Counter", "x"))).entityExists, false);
    assert.deepEqual(
      (await api.hub.client.listEntities({ entityName: "Nope", includeTransient: true })).entities,
      [],
    );
  });
});
