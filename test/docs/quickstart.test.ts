/** The README's complete example runs as written, on a fresh SQLite file. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

test("examples/quickstart.ts completes the approved order", () => {
  const dir = mkdtempSync(join(tmpdir(), "refrain-quickstart-"));
  try {
    const out = execFileSync(process.execPath, [join(process.cwd(), "dist/examples/quickstart.js")], {
      cwd: dir,
      env: { ...process.env, REFRAIN_DB: join(dir, "quickstart.db") },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.match(out, /\[notify\] order B-2 paid: receipt-B-2/);
    assert.match(out, /Completed \{ id: 'B-2', status: 'paid', receipt: 'receipt-B-2', reserved: 2 \}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
