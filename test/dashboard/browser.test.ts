/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core loads the page from
 * createHttpServer, finds a waiting instance in the list, opens it, sees its timeline, raises the
 * event it waits for from the page and watches it complete over the event stream. A second server
 * with a key checks that the page asks for it. Without /usr/bin/chromium the suite is skipped
 * (and fails under CI=true). REFRAIN_UPDATE_SCREENSHOTS=1 rewrites docs/images/dashboard*.png.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { createHttpServer, type HttpServer, SqliteStore, TaskHub } from "../../src/index.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const KEY = "dashboard-test-key";
const present = existsSync(CHROMIUM);
const ci = process.env.CI === "true";
const updateScreenshots = process.env.REFRAIN_UPDATE_SCREENSHOTS === "1";
const quiet = () => {};

function startHub(dir: string): TaskHub {
  const hub = new TaskHub({
    name: "dashboard",
    store: new SqliteStore({ path: join(dir, "hub.db") }),
    orchestrationLog: quiet,
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
  const reserve = hub.activity("ReserveStock", async (items: number) => {
    await new Promise((r) => setTimeout(r, 150));
    return items;
  });
  const ship = hub.activity("Ship", async (id: string) => `parcel-${id}`);
  hub.orchestrator("ProcessOrder", function* (ctx) {
    const id = ctx.getInput<string>();
    ctx.setCustomStatus("reserving");
    const reserved = yield* ctx.callActivity(reserve, 2);
    yield ctx.createTimer(new Date(ctx.currentUtcDateTime.getTime() + 300));
    ctx.setCustomStatus("waiting for approval");
    const approval = yield* ctx.waitForExternalEvent<{ approved: boolean }>("Approval");
    const parcel = yield* ctx.callActivity(ship, id);
    ctx.setCustomStatus("shipped");
    return { id, reserved, approved: approval.approved, parcel };
  });
  // biome-ignore lint/correctness/useYield: an orchestrator that never waits is valid
  hub.orchestrator("Ping", function* (ctx) {
    return ctx.getInput();
  });
  return hub;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!updateScreenshots) return;
  mkdirSync("docs/images", { recursive: true });
  await page.screenshot({ path: `docs/images/${name}`, fullPage: true });
}

describe(
  "dashboard in Chromium",
  { skip: !present && !ci ? `${CHROMIUM} is missing (apt-get install -y chromium)` : false },
  () => {
    let dir: string;
    let hub: TaskHub;
    let server: HttpServer;
    let keyed: HttpServer;
    let browser: Browser;
    const pageErrors: string[] = [];

    before(async () => {
      assert.ok(present, `${CHROMIUM} is required under CI=true (apt-get install -y chromium)`);
      dir = mkdtempSync(join(tmpdir(), "refrain-dashboard-"));
      hub = startHub(dir);
      await hub.start();
      for (let i = 1; i <= 3; i++) await hub.client.startNew("Ping", { instanceId: `ping-${i}`, input: i });
      await hub.client.startNew("ProcessOrder", { instanceId: "order-7", input: "7" });
      server = await createHttpServer(hub, { port: 0, streamPollMs: 100 });
      keyed = await createHttpServer(hub, { port: 0, key: KEY });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    });

    after(async () => {
      await browser?.close();
      await keyed?.close();
      await server?.close();
      await hub?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function open(url: string): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("pageerror", (err) => pageErrors.push(err.message));
      page.on("console", (msg) => {
        if (msg.type() === "error") pageErrors.push(msg.text());
      });
      await page.goto(url);
      return page;
    }

    test("lists, opens, follows and completes a waiting instance", async () => {
      const page = await open(`${server.url}/`);
      const row = page.locator("#instances a", { hasText: "order-7" });
      await row.waitFor();
      assert.equal(await page.locator("#instances tbody tr").count(), 4);
      await page.locator("#counts [data-status=All] b", { hasText: "4" }).waitFor();
      await screenshot(page, "dashboard-list.png");

      await page.fill("#filter-prefix", "order-");
      await page.click("form.filters button[type=submit]");
      await page.waitForFunction("document.querySelectorAll('#instances tbody tr').length === 1");
      await page.locator("#counts [data-status=All] b", { hasText: "1" }).waitFor();

      await page.locator("#instances a", { hasText: "order-7" }).click();
      await page.locator("#instance-status .badge", { hasText: "Running" }).waitFor();
      await page.locator("#timeline svg.timeline rect.bar.activity").waitFor();
      await page.locator("#timeline svg.timeline rect.bar.timer").waitFor();
      await page.locator("#payloads", { hasText: "waiting for approval" }).waitFor();

      await page.click("#action-raise");
      await page.fill("#event-name", "Approval");
      await page.fill("#event-data", "{approved: true");
      assert.equal(await page.isDisabled("#confirm-ok"), true, "invalid JSON cannot be sent");
      assert.match((await page.textContent("#confirm-error")) ?? "", /not valid JSON/);
      await page.fill("#event-data", '{"approved": true}');
      assert.equal(await page.isDisabled("#confirm-ok"), false);
      await page.click("#confirm-ok");

      await page.locator("#instance-status .badge", { hasText: "Completed" }).waitFor({ timeout: 15_000 });
      await page.locator("#output", { hasText: "parcel-7" }).waitFor();
      await page.locator("#timeline .mark-group[data-label='event Approval']").waitFor();
      assert.equal(await page.locator("#timeline rect.bar.activity").count(), 2);
      assert.equal(await page.locator("#timeline rect.bar.open").count(), 0);
      const status = await hub.client.getStatus("order-7");
      assert.deepEqual(status?.output, { id: "7", reserved: 2, approved: true, parcel: "parcel-7" });
      await screenshot(page, "dashboard.png");
      await page.close();
      assert.deepEqual(pageErrors, []);
    });

    test("asks for the key when the server requires one, then sends it", async () => {
      const page = await open(`${keyed.url}/dashboard/`);
      await page.locator("#key-form").waitFor();
      await page.fill("#key-input", KEY);
      await page.click("#key-form button[type=submit]");
      await page.locator("#instances a", { hasText: "ping-1" }).waitFor();
      assert.equal(await page.isHidden("#key-form"), true);
      await page.close();
      // The first load's 401s are expected; anything else is not.
      assert.deepEqual(
        pageErrors.filter((e) => !e.includes("401")),
        [],
      );
    });
  },
);
