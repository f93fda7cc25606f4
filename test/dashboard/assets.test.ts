/**
 * How the dashboard is served (content types, Content-Security-Policy, no key needed, 404/405,
 * `/` left to the app when mounted) and the counts route it uses for its status bar.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { DASHBOARD_CSP } from "../../src/http/dashboard/serve.js";
import { createHttpHandler } from "../../src/index.js";
import { type ApiFixture, call, P, postJson, problemOf, startApi } from "../http/fixture.js";

let api: ApiFixture;
let keyed: ApiFixture;
before(async () => {
  api = await startApi();
  keyed = await startApi({ key: "k" });
});
after(async () => {
  await api.close();
  await keyed.close();
});

describe("dashboard assets", () => {
  test("the page, stylesheet and modules go out with their types and a strict CSP", async () => {
    const expected: [string, RegExp, RegExp][] = [
      ["/", /^text\/html; charset=utf-8$/, /<script type="module" src="\/dashboard\/app.js">/],
      ["/dashboard/", /^text\/html/, /<main id="main">/],
      ["/dashboard/app.css", /^text\/css/, /\.badge/],
      ["/dashboard/app.js", /^text\/javascript/, /from "\.\/timeline\.js"/],
      ["/dashboard/timeline.js", /^text\/javascript/, /export function renderTimeline/],
    ];
    for (const [path, type, body] of expected) {
      const res = await call(api.url, path);
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers["content-type"]), type, path);
      assert.match(res.text, body, path);
      assert.equal(res.headers["content-security-policy"], DASHBOARD_CSP);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
    assert.match(DASHBOARD_CSP, /^default-src 'self';/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe/);
  });

  test("assets need no key (the page asks for it); the API still does", async () => {
    assert.equal((await call(keyed.url, "/dashboard/app.js")).status, 200);
    assert.equal((await call(keyed.url, `${P}/counts`)).status, 401);
    assert.equal((await call(keyed.url, `${P}/counts`, { headers: { "x-refrain-key": "k" } })).status, 200);
  });

  test("redirects /dashboard, answers HEAD, refuses other methods and unknown assets", async () => {
    const redirect = await call(api.url, "/dashboard");
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, "/dashboard/");
    const head = await call(api.url, "/dashboard/app.css", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    const post = await call(api.url, "/", { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(problemOf(post).code, "METHOD_NOT_ALLOWED");
    assert.equal(problemOf(await call(api.url, "/dashboard/nope.js")).code, "NOT_FOUND");
  });

  test("mounted into an app, / is the app's and /dashboard/ the dashboard's", async () => {
    const handler = createHttpHandler(api.hub);
    const server: Server = createServer((req, res) => handler(req, res, () => res.end("app")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      assert.equal((await call(url, "/")).text, "app");
      assert.match((await call(url, "/dashboard/")).text, /<title>Refrain dashboard<\/title>/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("GET /counts", () => {
  test("counts instances per status, every status present, within an ID prefix", async () => {
    await postJson(api.url, `${P}/orchestrators/Echo/count-a`, 1);
    await postJson(api.url, `${P}/orchestrators/Echo/count-b`, 2);
    await postJson(api.url, `${P}/orchestrators/Approval/count-c`, 3);
    await api.waitFor("count-a", ["Completed"]);
    await api.waitFor("count-b", ["Completed"]);
    await api.waitFor("count-c", ["Running"]);
    const res = await call(api.url, `${P}/counts?instanceIdPrefix=count-`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      counts: {
        Pending: 0,
        Running: 1,
        Completed: 2,
        ContinuedAsNew: 0,
        Failed: 0,
        Terminated: 0,
        Suspended: 0,
      },
      total: 3,
      complete: true,
    });
    const none = (await call(api.url, `${P}/counts?instanceIdPrefix=zzz`)).json as { total: number };
    assert.equal(none.total, 0);
  });

  test("validates its query like the other routes", async () => {
    assert.equal(problemOf(await call(api.url, `${P}/counts?top=1`)).status, 400);
    assert.equal(problemOf(await call(api.url, `${P}/counts?createdTimeFrom=yesterday`)).status, 400);
  });
});
