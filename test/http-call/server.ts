/**
 * A scripted HTTP server on 127.0.0.1 (port 0) for the durable-HTTP tests: each route is a
 * function of the request; every request is recorded (method, path, headers, body) so tests can
 * count what was sent. `close()` drops open connections too, so hanging routes leave nothing behind.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the server received. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A route: answers a request (or never ends it, to simulate a hang). */
export type Route = (req: SeenRequest, res: ServerResponse, nth: number) => void;

/** A running scripted server. */
export interface ScriptedServer {
  /** "http://127.0.0.1:<port>". */
  url: string;
  /** Every request received, in order. */
  seen: SeenRequest[];
  /** Requests received for `method path`. */
  count(method: string, path: string): number;
  close(): Promise<void>;
}

/** Starts a server answering `routes` keyed by "METHOD /path"; anything else is 404. */
export async function startServer(routes: Record<string, Route>): Promise<ScriptedServer> {
  const seen: SeenRequest[] = [];
  const count = (method: string, path: string) =>
    seen.filter((r) => r.method === method && r.path === path).length;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const entry: SeenRequest = {
        method: req.method ?? "",
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      seen.push(entry);
      const route = routes[`${entry.method} ${path}`];
      if (!route) {
        res.writeHead(404).end("no route");
        return;
      }
      route(entry, res, count(entry.method, path));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
