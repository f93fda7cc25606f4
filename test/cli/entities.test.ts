/** The `refrain` entity commands against a live app: signal, entity, entities, clean-entities. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EntityId } from "../../src/index.js";
import { type CliFixture, parseJson, startFixture } from "./fixture.js";

describe("refrain CLI: entities", () => {
  let fx: CliFixture;
  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    await fx.close();
  });

  const stateOf = async (key: string) =>
    (await fx.app.client.readEntityState(new EntityId("Counter", key))).entityState;
  const until = async (check: () => Promise<boolean>) => {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, "timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test("signal sends operations the app runs; entity shows the state", async () => {
    const first = await fx.cli("signal", "@counter@cli", "add", "5");
    assert.deepEqual(first, { code: 0, stdout: "signalled 'add' to entity '@counter@cli'\n", stderr: "" });
    assert.equal((await fx.cli("signal", "@counter@cli", "add", "2", "--json")).code, 0);
    await until(async () => (await stateOf("cli")) === 7);
    const shown = await fx.cli("entity", "@counter@cli");
    assert.equal(shown.code, 0);
    assert.match(shown.stdout, /^state:\s+7$/m);
    assert.deepEqual(parseJson(await fx.cli("entity", "@counter@cli", "--json")), {
      id: "@counter@cli",
      entityExists: true,
      entityState: 7,
    });
  });

  test("entities lists with state, filters by name and key prefix; JSON has every field", async () => {
    await fx.cli("signal", "@counter@list-a", "add", "1");
    await fx.cli("signal", "@counter@list-b", "add", "2");
    await until(async () => (await stateOf("list-b")) === 2);
    const table = await fx.cli("entities", "--name", "Counter", "--prefix", "list-", "--state");
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^ENTITY\s+LAST MODIFIED\s+LOCKED BY\s+QUEUED\s+STATE$/m);
    assert.match(table.stdout, /^@counter@list-a\s+\S+\s+0\s+1$/m);
    const json = parseJson<{ entities: Record<string, unknown>[] }>(
      await fx.cli("entities", "--name", "counter", "--prefix", "list-", "--json"),
    );
    assert.deepEqual(
      json.entities.map((e) => [e.id, e.name, e.key, e.backlogQueueSize, "state" in e]),
      [
        ["@counter@list-a", "counter", "list-a", 0, false],
        ["@counter@list-b", "counter", "list-b", 0, false],
      ],
    );
  });

  test("a deleted entity has no state (exit 1) until clean-entities removes it", async () => {
    await fx.cli("signal", "@counter@gone", "add", "1");
    await until(async () => (await stateOf("gone")) === 1);
    await fx.cli("signal", "@counter@gone", "delete");
    await until(async () => (await stateOf("gone")) === undefined);
    const missing = await fx.cli("entity", "@counter@gone");
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /has no state/);
    const cleaned = parseJson(await fx.cli("clean-entities", "--json"));
    assert.deepEqual(cleaned, { emptyEntitiesRemoved: 1, orphanedLocksReleased: 0 });
    const transient = parseJson<{ entities: { id: string }[] }>(
      await fx.cli("entities", "--transient", "--json"),
    );
    assert.ok(!transient.entities.some((e) => e.id === "@counter@gone"));
  });

  test("bad arguments are usage errors (exit 64) and change nothing", async () => {
    for (const args of [
      ["signal", "counter@x", "add"],
      ["signal", "@counter@x", "add", "{not json"],
      ["signal", "@counter@x", "add", "1", "--at", "yesterday"],
      ["entity", "@counter"],
      ["entities", "--prefix", "a"],
      ["entities", "--page-size", "0"],
    ]) {
      const run = await fx.cli(...args);
      assert.equal(run.code, 64, `${args.join(" ")}: ${run.stderr}`);
    }
    assert.equal(await stateOf("x"), undefined);
  });
});
