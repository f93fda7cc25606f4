/**
 * Serves the quickstart's task hub over HTTP: its workers plus the Durable Functions-style
 * management API. Run `node dist/examples/http-server.js` after `npm run build` (or
 * `refrain serve dist/examples/http-server.js`, which uses the default export), then e.g.
 * `curl -X POST localhost:7071/runtime/webhooks/durabletask/orchestrators/ProcessOrder -H 'content-type: application/json' -d '{"id":"A-1","items":["pen"],"total":5}'`.
 */
import { createServer, type Server } from "node:http";
import { createHttpHandler, createHttpServer } from "refrain";
import { hub } from "./quickstart.js";

// `refrain serve` loads an app module and serves its default export.
export default hub;

/** Starts the workers and the HTTP API on 127.0.0.1; `stop` shuts both down. */
export async function serve(port = 7071): Promise<{ url: string; stop: () => Promise<void> }> {
  await hub.start();
  const api = await createHttpServer(hub, { port });
  console.log(`Refrain management API at ${api.url}/runtime/webhooks/durabletask`);
  return {
    url: api.url,
    async stop() {
      await api.close();
      await hub.stop();
    },
  };
}

/** An existing HTTP server of the app, with the management API mounted into it. */
export function appServer(): Server {
  const refrain = createHttpHandler(hub);
  return createServer((req, res) => {
    refrain(req, res, () => {
      // Not a Refrain route (/runtime/webhooks/durabletask/… or /openapi.json): the app's own.
      res.writeHead(200, { "content-type": "text/plain" }).end("hello from the app\n");
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { stop } = await serve(Number(process.env.PORT ?? 7071));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop());
}
