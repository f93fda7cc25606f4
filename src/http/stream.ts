/**
 * `GET …/instances/{instanceId}/stream`: an instance's status and new history events as
 * Server-Sent Events. Wakes on the store's in-process notifications and polls for changes made by
 * other processes; ends after the terminal status, or when the client goes away.
 */
import { isTerminalStatus } from "../core/events.js";
import type { OrchestrationStatus } from "../status.js";
import { statusBody } from "./management.js";
import { HttpProblem, toProblem } from "./problem.js";
import { readNoBody } from "./request.js";
import type { Reply, RouteContext } from "./routes.js";

function snapshotKey(status: OrchestrationStatus): string {
  return JSON.stringify([status.runtimeStatus, status.lastUpdatedTime.getTime(), status.customStatus]);
}

/** Streams the instance's status (`event: status`) and history (`event: history`) until it ends. */
export async function streamInstance(ctx: RouteContext): Promise<Reply | "streamed"> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const id = ctx.params.instanceId!;
  const options = { showHistory: true, showHistoryOutput: ctx.query.boolean("showHistoryOutput", false) };
  const { hub, res } = ctx;
  let status = await hub.client.getStatus(id, options);
  if (!status) throw new HttpProblem(404, "INSTANCE_NOT_FOUND", `no instance with ID '${id}' exists`);

  let closed = false;
  let changed = false;
  let wake: () => void = () => {};
  const unsubscribe = hub.store.subscribe(hub.name, (n) => {
    if (n.kind === "activity-work") return;
    if (n.kind !== "external-change" && n.instanceId !== id) return;
    changed = true;
    wake();
  });
  res.on("close", () => {
    closed = true;
    wake();
  });
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  const send = (event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  let lastKey = "";
  let sentEvents = 0;
  try {
    while (!closed) {
      if (!status) {
        send(
          "error",
          toProblem(new HttpProblem(404, "INSTANCE_NOT_FOUND", `instance '${id}' was purged`)).problem,
        );
        break;
      }
      const history = status.history ?? [];
      // A continue-as-new or a rewind starts the history again: send it again from the start.
      if (history.length < sentEvents) sentEvents = 0;
      for (const event of history.slice(sentEvents)) send("history", event);
      sentEvents = history.length;
      const key = snapshotKey(status);
      if (key !== lastKey) {
        const { historyEvents: _, ...body } = statusBody(status);
        send("status", body);
        lastKey = key;
      }
      if (isTerminalStatus(status.runtimeStatus)) break;
      if (!changed) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ctx.streamPollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      changed = false;
      status = await hub.client.getStatus(id, options);
    }
  } catch (err) {
    if (!closed) send("error", toProblem(err).problem);
  } finally {
    unsubscribe();
    res.end();
  }
  return "streamed";
}
