/** `refrain list`: the table, filters, JSON output, pagination across pages, and `--hub`. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { OrchestrationStatus } from "../../src/index.js";
import { type CliFixture, parseJson, startFixture } from "./fixture.js";

type Page = { instances: OrchestrationStatus[]; continuationToken?: string };

describe("refrain CLI: list", () => {
  let fx: CliFixture;
  let beforeAll: string;
  const pageIds = ["page-0", "page-1", "page-2", "page-3", "page-4"];

  before(async () => {
    fx = await startFixture();
    beforeAll = new Date(Date.now() - 1000).toISOString();
    for (const id of pageIds) await fx.cli("start", "Echo", "--id", id, "--input", JSON.stringify(id));
    await fx.cli("start", "Fail", "--id", "other-fail");
    await fx.cli("start", "Approval", "--id", "other-wait");
    for (const id of pageIds) await fx.waitForStatus(id, ["Completed"]);
    await fx.waitForStatus("other-fail", ["Failed"]);
    await fx.waitForStatus("other-wait", ["Running"]);
  });
  after(async () => {
    await fx.close();
  });

  test("the table has aligned ID, NAME, STATUS, CREATED and UPDATED columns", async () => {
    const run = await fx.cli("list", "--prefix", "other-");
    assert.equal(run.code, 0);
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+NAME\s+STATUS\s+CREATED\s+UPDATED$/);
    assert.match(lines[1]!, /^other-fail\s+Fail\s+Failed\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d{4}-/);
    assert.match(lines[2]!, /^other-wait\s+Approval\s+Running\s+/);
    assert.equal(lines.length, 3);
    const statusColumn = lines[0]!.indexOf("STATUS");
    assert.ok(
      lines.every((line) => /\S/.test(line[statusColumn]!)),
      "STATUS column aligned",
    );
  });

  test("--status filters case-insensitively, several statuses separated by commas", async () => {
    const failed = parseJson<Page>(await fx.cli("list", "--status", "failed", "--json"));
    assert.deepEqual(
      failed.instances.map((s) => s.instanceId),
      ["other-fail"],
    );
    const some = parseJson<Page>(await fx.cli("list", "--status", "Failed,RUNNING", "--json"));
    assert.deepEqual(some.instances.map((s) => s.instanceId).sort(), ["other-fail", "other-wait"]);
  });

  test("--created-from and --created-to bound the creation time", async () => {
    const all = parseJson<Page>(await fx.cli("list", "--created-from", beforeAll, "--json"));
    assert.equal(all.instances.length, 7);
    const none = parseJson<Page>(await fx.cli("list", "--created-to", beforeAll, "--json"));
    assert.deepEqual(none.instances, []);
    const empty = await fx.cli("list", "--created-from", "2999-01-01");
    assert.equal(empty.stdout, "no instances found\n");
  });

  test("--page-size pages with a continuation token until every instance was seen", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const args = ["list", "--prefix", "page-", "--page-size", "2", "--json"];
      if (token) args.push("--continuation-token", token);
      const page = parseJson<Page>(await fx.cli(...args));
      assert.ok(page.instances.length <= 2);
      seen.push(...page.instances.map((s) => s.instanceId));
      token = page.continuationToken;
      pages++;
    } while (token && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, pageIds);
  });

  test("the text output ends with the token of the next page, which continues the list", async () => {
    const first = await fx.cli("list", "--prefix", "page-", "--page-size", "3");
    assert.match(first.stdout, /^page-2\s/m);
    assert.doesNotMatch(first.stdout, /^page-3\s/m);
    const hint = /more instances: run again with --continuation-token (\S+)/.exec(first.stdout);
    assert.ok(hint, first.stdout);
    const second = await fx.cli(
      "list",
      "--prefix",
      "page-",
      "--page-size",
      "3",
      "--continuation-token",
      hint[1]!,
    );
    assert.match(second.stdout, /^page-3\s/m);
    assert.match(second.stdout, /^page-4\s/m);
    assert.doesNotMatch(second.stdout, /more instances/);
  });

  test("--all fetches every page", async () => {
    const all = parseJson<Page>(
      await fx.cli("list", "--prefix", "page-", "--page-size", "2", "--all", "--json"),
    );
    assert.deepEqual(
      all.instances.map((s) => s.instanceId),
      pageIds,
    );
    assert.equal(all.continuationToken, undefined);
    assert.deepEqual(all.instances[4]?.input, "page-4");
  });

  test("long cells are cut with …", async () => {
    const longId = `long-${"x".repeat(80)}`;
    await fx.cli("start", "Approval", "--id", longId);
    const run = await fx.cli("list", "--prefix", "long-");
    const row = run.stdout.split("\n")[1]!;
    assert.match(row, /^long-x+… /);
    assert.ok(!row.includes(longId));
    await fx.cli("terminate", longId);
  });

  test("--hub selects another task hub in the same database", async () => {
    const started = await fx.cli("start", "Anything", "--id", "hub-b-1", "--hub", "hub-b");
    assert.equal(started.code, 0);
    const other = parseJson<Page>(await fx.cli("list", "--hub", "hub-b", "--json"));
    assert.deepEqual(
      other.instances.map((s) => [s.instanceId, s.name, s.runtimeStatus]),
      [["hub-b-1", "Anything", "Pending"]],
    );
    const defaultHub = parseJson<Page>(await fx.cli("list", "--prefix", "hub-b", "--json"));
    assert.deepEqual(defaultHub.instances, []);
  });
});
