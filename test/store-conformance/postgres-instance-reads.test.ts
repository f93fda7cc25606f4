/**
 * The PostgreSQL store's coalesced instance reads (InstanceReads): the reads of one turn go to
 * one query per hub with each ID once, each caller gets its own row, a failed query fails exactly
 * its callers, and the reads of a later turn go to a query of their own.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InstanceReads } from "../../src/store/instance-reads.js";
import type { InstanceRow } from "../../src/store/postgres/operations.js";

/** A row with just the fields these tests look at. */
function row(hub: string, id: string): InstanceRow {
  return { hub, instance_id: id } as unknown as InstanceRow;
}

test("one turn's reads become one query per hub, each ID asked once", async () => {
  const queries: [string, string[]][] = [];
  const reads = new InstanceReads(async (hub, ids) => {
    queries.push([hub, ids]);
    return ids.filter((id) => id !== "missing").map((id) => row(hub, id));
  });
  const results = await Promise.all([
    reads.read("h1", "a"),
    reads.read("h1", "b"),
    reads.read("h1", "a"),
    reads.read("h1", "missing"),
    reads.read("h2", "a"),
  ]);
  assert.deepStrictEqual(
    results.map((r) => r && `${(r as unknown as { hub: string }).hub}/${r.instance_id}`),
    ["h1/a", "h1/b", "h1/a", undefined, "h2/a"],
  );
  assert.deepStrictEqual(queries, [
    ["h1", ["a", "b", "missing"]],
    ["h2", ["a"]],
  ]);
  await reads.read("h1", "c");
  assert.equal(queries.length, 3, "a later turn's read is a query of its own");
});

test("a failed query rejects its own callers only; more than 1,000 IDs are split", async () => {
  const sizes: number[] = [];
  const reads = new InstanceReads(async (hub, ids) => {
    sizes.push(ids.length);
    if (hub === "broken") throw new Error("connection lost");
    return ids.map((id) => row(hub, id));
  });
  const many = Array.from({ length: 1_500 }, (_, i) => reads.read("h", `i${i}`));
  const failing = reads.read("broken", "x");
  const rows = await Promise.all(many);
  assert.equal(rows.filter((r) => r !== undefined).length, 1_500);
  await assert.rejects(failing, /connection lost/);
  assert.deepStrictEqual(
    sizes.sort((a, b) => a - b),
    [1, 500, 1_000],
  );
});
