#!/usr/bin/env node
/**
 * The `refrain` executable: wires the process's arguments, streams and exit code to `runCli`.
 */
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
