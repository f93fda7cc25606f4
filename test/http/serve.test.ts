/**
 * `examples/http-server.ts` and `refrain serve`: the quickstart hub served over HTTP, in-process and
 * as a separate process stopped by SIGTERM; and serve's argument errors.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../../src/cli/run.js";
import { call, P, postJson } from "./fixture.js";

const root = process.cwd();
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "refrain-serve-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Polls the status URL until the instance is finished (200). */
async function finished(url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 500; i++) {
    const res = await call(url, new URL(url).pathname);
    if (res.status === 200) return res.json as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} did not finish`);
}

const ORDER = { id: "A-1", items: ["pen"], total: 5 };

describe("examples/http-server.ts", () => {
  test("serves the quickstart hub and mounts into an existing server", async () => {
    process.env.REFRAIN_DB = join(dir, "example.db");
    const example = await import("../../examples/http-server.js");
    const { url, stop } = await example.serve(0);
    const app = example.appServer();
    try {
      const res = await postJson(url, `${P}/orchestrators/ProcessOrder`, ORDER);
      assert.equal(res.status, 202);
      const status = await finished((res.json as { statusQueryGetUri: string }).statusQueryGetUri);
      assert.equal(status.runtimeStatus, "Completed");
      assert.equal((status.output as { status: string }).status, "paid");

      await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
      const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      assert.equal((await call(appUrl, "/hello")).text, "hello from the app\n");
      const mounted = await call(appUrl, `${P}/instances/${(res.json as { id: string }).id}`);
      assert.equal(mounted.status, 200);
    } finally {
      await new Promise((resolve) => app.close(resolve));
      await stop();
    }
  });
});

describe("refrain serve", () => {
  test("serves an app module until SIGTERM, then exits 0", async () => {
    const child = spawn(
      process.execPath,
      [
        join(root, "dist/src/cli/main.js"),
        "serve",
        join(root, "dist/examples/http-server.js"),
        "--port",
        "0",
      ],
      {
        cwd: dir,
        env: { ...process.env, REFRAIN_DB: join(dir, "serve.db") },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const match = /serving task hub 'quickstart' at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const res = await postJson(url, `${P}/orchestrators/ProcessOrder/cli-1`, ORDER);
      assert.equal(res.status, 202);
      assert.equal((await finished(`${url}${P}/instances/cli-1`)).runtimeStatus, "Completed");
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, err);
    assert.match(out, /stopped \(SIGTERM\)/);
  });

  async function cli(args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runCli(args, {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: {},
    });
    return { code, stdout, stderr };
  }

  test("refuses store flags, bad ports, unsafe hosts and modules without a TaskHub", async () => {
    const notHub = join(dir, "not-a-hub.mjs");
    writeFileSync(notHub, "export default { name: 'x' };\n");
    const app = join(root, "dist/examples/http-server.js");
    assert.equal((await cli(["serve", app, "--db", "x.db"])).code, 64);
    assert.equal((await cli(["serve", app, "--port", "99999"])).code, 64);
    assert.equal((await cli(["serve"])).code, 64);
    const exposed = await cli(["serve", app, "--host", "0.0.0.0"]);
    assert.equal(exposed.code, 64);
    assert.match(exposed.stderr, /--key/);
    const missing = await cli(["serve", join(dir, "missing.mjs")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /APP_LOAD_FAILED/);
    const wrong = await cli(["serve", notHub]);
    assert.match(wrong.stderr, /must export a TaskHub/);
    assert.match((await cli(["help", "serve"])).stdout, /refrain serve <app>/);
  });
});
