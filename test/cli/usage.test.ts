/**
 * `refrain` usage: help for every command, bad input (exit 64, nothing written), library errors
 * (exit 1, `error [CODE]`), the missing-database check, and the compiled bin as a child process.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { COMMANDS } from "../../src/cli/commands.js";
import { type CliFixture, parseJson, startFixture } from "./fixture.js";

const BIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

describe("refrain CLI: help and errors", () => {
  let fx: CliFixture;
  before(async () => {
    fx = await startFixture();
    await fx.cli("start", "Approval", "--id", "waiting-1");
    await fx.cli("start", "Echo", "--id", "done-1", "--input", "1");
    await fx.waitForStatus("waiting-1", ["Running"]);
    await fx.waitForStatus("done-1", ["Completed"]);
  });
  after(async () => {
    await fx.close();
  });

  test("global help lists every command and exits 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const run = await fx.cliRaw(args);
      assert.equal(run.code, 0, args.join(" "));
      assert.equal(run.stderr, "");
      for (const spec of COMMANDS) assert.match(run.stdout, new RegExp(`^  ${spec.name}\\s`, "m"));
      assert.match(run.stdout, /--db PATH/);
    }
  });

  for (const spec of COMMANDS) {
    test(`${spec.name} --help shows its usage and every option`, async () => {
      const run = await fx.cliRaw([spec.name, "--help"]);
      assert.equal(run.code, 0);
      assert.equal(run.stderr, "");
      assert.match(run.stdout, new RegExp(`^usage: refrain ${spec.name}`));
      for (const option of [...Object.keys(spec.options), "db", "hub", "json"]) {
        assert.ok(run.stdout.includes(`--${option}`), `${spec.name} help mentions --${option}`);
      }
      assert.deepEqual(await fx.cliRaw(["help", spec.name]), run);
    });
  }

  const usageCases: { args: string[]; message: RegExp }[] = [
    { args: [], message: /missing command/ },
    { args: ["frob"], message: /unknown command 'frob'/ },
    { args: ["help", "frob"], message: /unknown command 'frob'/ },
    { args: ["status"], message: /missing argument <id>/ },
    { args: ["status", "a", "b"], message: /unexpected argument 'b'/ },
    { args: ["raise", "waiting-1"], message: /missing argument <event>/ },
    { args: ["list", "--bogus"], message: /Unknown option '--bogus'/ },
    { args: ["start", "Echo", "--input", "{bad"], message: /--input is not valid JSON/ },
    { args: ["start", "Echo", "--input"], message: /--input/ },
    { args: ["raise", "waiting-1", "approve", "{bad"], message: /<data> is not valid JSON/ },
    {
      args: ["list", "--status", "Bogus"],
      message: /unknown status 'Bogus' \(expected one of Pending, Running/,
    },
    { args: ["purge", "--status", "Done"], message: /unknown status 'Done'/ },
    {
      args: ["start", "Echo", "--start-at", "tomorrow"],
      message: /--start-at 'tomorrow' is not an ISO-8601 date/,
    },
    {
      args: ["list", "--created-from", "2024-13-45"],
      message: /--created-from '2024-13-45' is not an ISO-8601/,
    },
    { args: ["list", "--page-size", "abc"], message: /--page-size must be a whole number from 1 to 1000/ },
    { args: ["list", "--page-size", "1001"], message: /--page-size must be a whole number/ },
    { args: ["wait", "waiting-1", "--timeout-ms", "soon"], message: /--timeout-ms must be a whole number/ },
    { args: ["purge"], message: /missing argument <id> \(or a filter/ },
    {
      args: ["purge", "done-1", "--status", "Completed"],
      message: /either an instance ID or filter options/,
    },
  ];

  for (const { args, message } of usageCases) {
    test(`bad usage: refrain ${args.join(" ")} → exit 64, nothing written`, async () => {
      const before = await fx.instanceIds();
      const run = await fx.cliRaw([...args, "--db", fx.dbPath]);
      assert.equal(run.code, 64);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^error: /);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /\nusage: refrain /);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
      assert.deepEqual(await fx.instanceIds(), before);
    });
  }

  test("with --json a usage error is also one JSON document on stdout", async () => {
    const run = await fx.cli("list", "--status", "Bogus", "--json");
    assert.equal(run.code, 64);
    assert.equal(parseJson<{ error: { code: string } }>(run).error.code, "USAGE");
  });

  test("library errors print `error [CODE]: message` and exit 1", async () => {
    const cases: { args: string[]; code: string; message: RegExp }[] = [
      { args: ["status", "nope"], code: "INSTANCE_NOT_FOUND", message: /no instance with ID 'nope'/ },
      { args: ["raise", "done-1", "approve"], code: "INSTANCE_NOT_RUNNING", message: /is Completed/ },
      { args: ["raise", "nope", "approve"], code: "INSTANCE_NOT_FOUND", message: /'nope'/ },
      {
        args: ["start", "Approval", "--id", "waiting-1"],
        code: "INSTANCE_ALREADY_EXISTS",
        message: /Running/,
      },
      { args: ["wait", "waiting-1", "--timeout-ms", "50"], code: "TIMEOUT", message: /still Running/ },
      { args: ["list", "--hub", "bad hub!"], code: "INVALID_ARGUMENT", message: /task hub name/ },
    ];
    for (const { args, code, message } of cases) {
      const run = await fx.cli(...args);
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(run.stdout, "");
      assert.match(run.stderr, new RegExp(`^error \\[${code}\\]: `));
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /\n\s+at /);

      const json = await fx.cli(...args, "--json");
      assert.equal(json.code, 1);
      const parsed = parseJson<{ error: { code: string; message: string } }>(json);
      assert.equal(parsed.error.code, code);
      assert.match(parsed.error.message, message);
    }
  });

  test("a missing database is reported and not created, for reads and writes alike", async () => {
    for (const path of [join(fx.dir, "missing.db"), join(fx.dir, "no-such-dir", "app.db")]) {
      for (const args of [["list"], ["status", "x"], ["start", "Echo"]]) {
        const run = await fx.cliRaw([...args, "--db", path]);
        assert.equal(run.code, 1);
        assert.equal(
          run.stderr,
          `error [DB_NOT_FOUND]: no Refrain database at ${path} — start your app first or pass --db\n`,
        );
        assert.equal(existsSync(path), false);
      }
    }
    assert.equal(existsSync(join(fx.dir, "no-such-dir")), false);
    const json = await fx.cliRaw(["list", "--json", "--db", join(fx.dir, "missing.db")]);
    assert.equal(parseJson<{ error: { code: string } }>(json).error.code, "DB_NOT_FOUND");
  });

  test("a file that is not a Refrain database is an error without a stack trace", async () => {
    const path = join(fx.dir, "garbage.db");
    writeFileSync(path, "this is not a database, just some text that is long enough to look like a header");
    const run = await fx.cliRaw(["list", "--db", path]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error \[[A-Z_]+\]: /);
    assert.doesNotMatch(run.stderr, /INTERNAL|\n\s+at /);
  });

  test("REFRAIN_DB is used when --db is absent, and --db wins over it", async () => {
    const fromEnv = await fx.cliRaw(["list", "--json"], { REFRAIN_DB: fx.dbPath });
    assert.equal(fromEnv.code, 0);
    assert.ok(parseJson<{ instances: { instanceId: string }[] }>(fromEnv).instances.length >= 2);
    const overridden = await fx.cliRaw(["list", "--db", fx.dbPath], {
      REFRAIN_DB: join(fx.dir, "missing.db"),
    });
    assert.equal(overridden.code, 0);
  });

  test("global options may come before the command", async () => {
    const run = await fx.cliRaw(["--db", fx.dbPath, "--json", "status", "done-1"]);
    assert.equal(run.code, 0);
    assert.equal(parseJson<{ runtimeStatus: string }>(run).runtimeStatus, "Completed");
  });

  test("the compiled bin runs as a child process and prints JSON", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [BIN, "list", "--db", fx.dbPath, "--json"],
      {
        timeout: 30_000,
      },
    );
    const page = JSON.parse(stdout) as { instances: { instanceId: string; runtimeStatus: string }[] };
    const byId = new Map(page.instances.map((s) => [s.instanceId, s.runtimeStatus]));
    assert.equal(byId.get("done-1"), "Completed");
    assert.equal(byId.get("waiting-1"), "Running");
  });
});
