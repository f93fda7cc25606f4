/**
 * Property-based fuzzing of the HTTP API: random methods, paths, query strings, headers and
 * bodies. Every answer is 2xx or 4xx (never 5xx), every error is problem+json, and the SQLite
 * file's tables are byte-for-byte the same afterwards: a rejected request changes nothing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { ROUTES } from "../../src/http/server.js";
import { Database } from "../../src/store/sqlite/driver.js";
import { type ApiFixture, type CallOptions, call, P, problemOf, startApi } from "./fixture.js";

let api: ApiFixture;
before(async () => {
  // Workers are not started, so nothing changes the store but requests.
  api = await startApi({ kind: "sqlite", start: false, maxBodyBytes: 2048 });
  for (const n of [1, 2, 3]) await api.hub.client.startNew("Approval", { instanceId: `keep-${n}`, input: n });
});
after(() => api.close());

/** A digest of every row of every table of the SQLite file, read through its own connection. */
function checksum(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash("sha256");
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      const rows = db
        .prepare(`SELECT * FROM "${name}"`)
        .all()
        .map((r) => JSON.stringify(r));
      hash.update(`${name}\n${rows.sort().join("\n")}\n`);
    }
    return hash.digest("hex");
  } finally {
    db.close();
  }
}

const printable = fc.stringMatching(/^[\x20-\x7e]{0,24}$/);
const segment = fc.oneof(
  fc.constantFrom(
    "orchestrators",
    "instances",
    "raiseEvent",
    "terminate",
    "suspend",
    "resume",
    "rewind",
    "restart",
    "stream",
    "Unregistered",
    "..",
    ".",
    "%",
    "%zz",
    "%00",
    "%E0%A4%A",
    "",
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: "binary", maxLength: 8 }).map(encodeURIComponent),
);
const randomPath = fc
  .tuple(
    fc.constantFrom("", P, `${P}/orchestrators`, `${P}/instances`, `${P}/instances/fuzz`, "/openapi.json"),
    fc.array(segment, { maxLength: 4 }),
  )
  .map(([prefix, segments]) => [prefix, ...segments].join("/") || "/");
/** A real route's template with its parameters filled in (never with a registered name or existing ID). */
const routePath = fc
  .tuple(fc.constantFrom(...ROUTES.map((r) => r.path)), fc.array(segment, { minLength: 3, maxLength: 3 }))
  .map(([template, values]) => {
    let i = 0;
    return template.replace(/\{\w+\}/g, () => values[i++] || "x");
  });
const path = fc.oneof(routePath, randomPath);
const queryName = fc.oneof(
  fc.constantFrom(
    "showHistory",
    "showHistoryOutput",
    "showInput",
    "createdTimeFrom",
    "createdTimeTo",
    "runtimeStatus",
    "instanceIdPrefix",
    "top",
    "reason",
    "restartWithNewInstanceId",
    "taskHub",
    "code",
  ),
  printable,
);
const queryValue = fc.oneof(
  fc.constantFrom(
    "true",
    "false",
    "TRUE",
    "0",
    "-1",
    "1001",
    "7",
    "2024-01-01",
    "2024-13-45T99:00Z",
    "Pending,Nope",
  ),
  fc.constantFrom("Running", "completed", "", "api", "other", "1e3"),
  printable,
);
const query = fc.oneof(
  fc.constant(""),
  fc.array(fc.tuple(queryName, queryValue), { maxLength: 4 }).map((pairs) => {
    const text = new URLSearchParams(pairs).toString();
    return text ? `?${text}` : "";
  }),
  printable.map((raw) => `?${encodeURI(raw)}`),
);
const headers = fc.record(
  {
    "content-type": fc.oneof(
      fc.constantFrom(
        "application/json",
        "text/plain",
        "application/x+json",
        "application/json; charset=utf-8",
      ),
      printable,
    ),
    "x-ms-continuation-token": printable,
    "x-refrain-key": printable,
    accept: printable,
  },
  { requiredKeys: [] },
);
const body = fc.option(
  fc.oneof(
    fc.json(),
    fc.string({ maxLength: 64 }),
    fc.constantFrom("{", "[1,", "\u0000", "null", '"x"', "x".repeat(3000)),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  ),
  { nil: undefined, freq: 2 },
);
const method = fc.oneof(
  { arbitrary: fc.constantFrom("GET", "POST", "DELETE"), weight: 4 },
  fc.constantFrom("PUT", "PATCH", "OPTIONS", "HEAD"),
  fc.stringMatching(/^[A-Z]{1,8}$/),
);

test("random malformed requests get 2xx/4xx problem answers and change nothing", async () => {
  const before = checksum(api.dbPath!);
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, query, headers, body, async (m, p, q, h, b) => {
      const options: CallOptions = { method: m, headers: h };
      if (b !== undefined) options.body = b;
      let res: Awaited<ReturnType<typeof call>>;
      try {
        res = await call(api.url, `${p}${q}`, options);
      } catch (err) {
        // The client refused to send it (e.g. an invalid method token): nothing reached the server.
        if ((err as NodeJS.ErrnoException).code?.startsWith("ERR_")) return;
        throw err;
      }
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      assert.ok(res.status >= 200 && res.status < 500, `${m} ${p}${q} → ${res.status} ${res.text}`);
      if (res.status >= 400 && m !== "HEAD") problemOf(res);
    }),
    {
      numRuns: 400,
      // Accidentally valid and near-valid requests, so every run covers 2xx, 413 and 415 too.
      examples: [
        ["GET", "/openapi.json", "", {}, undefined],
        ["GET", `${P}/instances`, "?top=2", {}, undefined],
        ["POST", `${P}/orchestrators/Unregistered`, "", { "content-type": "text/plain" }, "1"],
        [
          "POST",
          `${P}/instances/fuzz/raiseEvent/x`,
          "",
          { "content-type": "application/json" },
          "x".repeat(3000),
        ],
      ],
    },
  );
  assert.equal(checksum(api.dbPath!), before, "a fuzzed request changed the store");
  // The run was not vacuous: most requests reached the server and met many different rejections.
  const answered = [...seen.values()].reduce((a, b) => a + b, 0);
  assert.ok(answered >= 300, `only ${answered} requests were answered`);
  assert.ok(seen.size >= 5, `statuses seen: ${JSON.stringify([...seen])}`);
  const ids = (await api.hub.client.getStatusAll()).map((s) => s.instanceId).sort();
  assert.deepEqual(ids, ["keep-1", "keep-2", "keep-3"]);
});
