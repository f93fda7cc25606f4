/**
 * Restate: `restate-server` 1.7.12 from node_modules (the binary of
 * `@restatedev/restate-server-<platform>-<arch>`) with `@restatedev/restate-sdk` 1.17 and the
 * ingress client `@restatedev/restate-sdk-clients`. Every session starts a fresh single-node
 * server on loopback with a temporary base directory and free ports (TCP listeners only,
 * telemetry and web UI off, otherwise the default configuration: the replicated loglet on the
 * local log server, RocksDB WAL fsync on), serves the SDK endpoint as an HTTP/2 server on another
 * free port, registers it through the admin API and invokes through the ingress. The session's
 * `close()` kills the server and deletes its directory; so do SIGINT and process exit.
 *
 * W1/W2: `Bench/chain`, 5 sequential `ctx.run` steps. W3: `Bench/fanOut`, 1,000 `ctx.run` awaited
 * with `RestatePromise.all`. W4: `Bench/fanOutChildren`, 1,000 durable calls of `Child/run` (one
 * `ctx.run` each), awaited with `RestatePromise.all`.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { freePort, onCleanup, packageVersion, sleep, tempDir } from "./common.mjs";

/** The server binary's package for this machine. */
const BINARY_PACKAGE = `@restatedev/restate-server-${process.platform}-${process.arch}`;

/** Path of the server binary inside node_modules. */
const BINARY = fileURLToPath(
  new URL(`../node_modules/${BINARY_PACKAGE}/bin/restate-server`, import.meta.url),
);

/** How long the server may take to answer on its admin port. */
const START_TIMEOUT_MS = 60_000;

let sdk;
let services;

/**
 * SDK 1.17 calls `Promise.withResolvers`, which Node 20 lacks (it came in Node 22): on Node 20 the
 * runner adds the standard definition before loading the SDK.
 */
function polyfillWithResolvers() {
  if (typeof Promise.withResolvers === "function") return;
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** Imports the SDK and the client and defines the services (once). */
async function load() {
  if (services) return { ...sdk, ...services };
  polyfillWithResolvers();
  const restate = await import("@restatedev/restate-sdk");
  const clients = await import("@restatedev/restate-sdk-clients");
  sdk = { restate, clients };
  const inc = async (x) => x + 1;
  const child = restate.service({
    name: "Child",
    handlers: { run: async (ctx, x) => ctx.run("inc", () => inc(x)) },
  });
  const bench = restate.service({
    name: "Bench",
    handlers: {
      chain: async (ctx, { x, steps }) => {
        let value = x;
        for (let i = 0; i < steps; i++) {
          const current = value;
          value = await ctx.run("inc", () => inc(current));
        }
        return value;
      },
      fanOut: async (ctx, n) => {
        const steps = Array.from({ length: n }, (_, i) => ctx.run("inc", () => inc(i)));
        return (await restate.RestatePromise.all(steps)).length;
      },
      fanOutChildren: async (ctx, n) => {
        const calls = Array.from({ length: n }, (_, i) => ctx.serviceClient(child).run(i));
        return (await restate.RestatePromise.all(calls)).length;
      },
    },
  });
  services = { bench, child };
  return { ...sdk, ...services };
}

/** CPU seconds and peak RSS (VmHWM) of process `pid`, from /proc. */
function processUsage(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, at 100 ticks/s
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuS: ticks / 100, peakRssMb: hwmKb / 1024 };
  } catch {
    return undefined;
  }
}

/** Starts a fresh server; resolves once its admin API answers. */
async function startServer() {
  const tmp = tempDir("restate-compare-");
  const [admin, ingress, fabric] = [await freePort(), await freePort(), await freePort()];
  const args = ["--no-logo", "--base-dir", tmp.dir, "--node-name", "compare", "--cluster-name", "compare"];
  args.push("--listen-mode", "tcp", "--bind-address", `127.0.0.1:${fabric}`);
  args.push("--advertised-address", `http://127.0.0.1:${fabric}/`);
  const child = spawn(BINARY, args, {
    cwd: tmp.dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${admin}`,
      RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ingress}`,
      RESTATE_DISABLE_TELEMETRY: "true",
      RESTATE_ADMIN__DISABLE_WEB_UI: "true",
      RESTATE_LOG_FILTER: "warn",
      RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    },
  });
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk).slice(-4000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  exit.then(() => {
    exited = true;
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = onCleanup(async () => {
    process.removeListener("exit", killOnExit);
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    }
    await tmp.remove();
  });
  const adminUrl = `http://127.0.0.1:${admin}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`restate-server exited during start-up:\n${output}`);
    }
    const ok = await fetch(`${adminUrl}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`restate-server did not answer on ${adminUrl} within ${START_TIMEOUT_MS / 1000} s`);
    }
    await sleep(100);
  }
  return { pid: child.pid, adminUrl, ingressUrl: `http://127.0.0.1:${ingress}`, stop };
}

/** The SDK's log lines at warn and error only (its default logs two info lines per invocation). */
function quietLogger(meta, message, ...rest) {
  if (meta.level === "warn" || meta.level === "error") console.error(`[restate-sdk] ${message}`, ...rest);
}

/** Serves the SDK endpoint over HTTP/2 cleartext on a free loopback port. */
async function startEndpoint(restate, bench, child) {
  const handler = restate.createEndpointHandler({ services: [bench, child], logger: quietLogger });
  const server = http2.createServer(handler);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const close = onCleanup(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Open HTTP/2 sessions from the (stopped) server would keep close() waiting.
        setTimeout(resolve, 2000).unref();
      }),
  );
  return { uri: `http://127.0.0.1:${server.address().port}`, close };
}

/** Registers the endpoint as a deployment through the admin API. */
async function register(adminUrl, uri) {
  const res = await fetch(`${adminUrl}/deployments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ uri, force: true }),
  });
  if (!res.ok) throw new Error(`registering ${uri} failed: ${res.status} ${await res.text()}`);
}

/** Restate with a fresh server per session. */
export const restateSystem = {
  id: "restate",
  label: "Restate",
  setup:
    "restate-server 1.7.12 (single node, default persistent log, fresh temp base dir), " +
    "SDK 1.17 endpoint over HTTP/2, invoked through the ingress",
  async check() {
    if (!packageVersion("@restatedev/restate-sdk") || !packageVersion("@restatedev/restate-sdk-clients")) {
      return "the Restate SDK is not installed: run `npm install` in bench/compare";
    }
    if (!packageVersion(BINARY_PACKAGE)) return `${BINARY_PACKAGE} (the server binary) is not installed`;
    return new Promise((resolve) => {
      const probe = spawn(BINARY, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      probe.stdout.on("data", (chunk) => {
        out += chunk;
      });
      probe.stderr.on("data", (chunk) => {
        out += chunk;
      });
      probe.on("error", (err) => resolve(`restate-server cannot start: ${err.message}`));
      probe.on("exit", (code) => resolve(code === 0 ? undefined : `restate-server --version failed: ${out}`));
    });
  },
  async open() {
    const { restate, clients, bench, child } = await load();
    const server = await startServer();
    let endpoint;
    try {
      endpoint = await startEndpoint(restate, bench, child);
      await register(server.adminUrl, endpoint.uri);
    } catch (err) {
      await server.stop();
      await endpoint?.close();
      throw err;
    }
    const client = clients.connect({ url: server.ingressUrl }).serviceClient(bench);
    return {
      chain: (x, steps) => client.chain({ x, steps }),
      fanOut: (n) => client.fanOut(n),
      fanOutChildren: (n) => client.fanOutChildren(n),
      serverUsage: () => processUsage(server.pid),
      async close() {
        try {
          await server.stop();
        } finally {
          await endpoint.close();
        }
      },
    };
  },
};
