/**
 * `GET …/counts`: how many instances the hub holds per runtime status, optionally only those whose
 * ID starts with a prefix or that were created in a time range. The store has no count query, so
 * this pages through the matching instances (1,000 a page) and stops after `COUNT_SCAN_LIMIT`;
 * `complete: false` then says the numbers are lower bounds. Used by the dashboard's status bar.
 */
import { RUNTIME_STATUSES, type RuntimeStatus } from "../core/events.js";
import { readNoBody } from "./request.js";
import type { Reply, RouteContext } from "./routes.js";

/** Most instances one counts request looks at before answering with `complete: false`. */
export const COUNT_SCAN_LIMIT = 10_000;

/** The body of a counts response. */
export interface CountsBody {
  /** Instances per runtime status; every status is present, zero included. */
  counts: Record<RuntimeStatus, number>;
  /** Sum of `counts`. */
  total: number;
  /** False when the scan stopped at `COUNT_SCAN_LIMIT`: the numbers are then lower bounds. */
  complete: boolean;
}

/** The query parameters the counts route accepts (besides the common ones). */
export const COUNTS_QUERY = ["instanceIdPrefix", "createdTimeFrom", "createdTimeTo"] as const;

/** Counts the hub's instances per status, within the optional prefix and creation-time filters. */
export async function countInstances(ctx: RouteContext): Promise<Reply> {
  await readNoBody(ctx.req, ctx.maxBodyBytes);
  const counts = Object.fromEntries(RUNTIME_STATUSES.map((s) => [s, 0])) as Record<RuntimeStatus, number>;
  const filter = {
    instanceIdPrefix: ctx.query.string("instanceIdPrefix"),
    createdFrom: ctx.query.date("createdTimeFrom"),
    createdTo: ctx.query.date("createdTimeTo"),
  };
  let total = 0;
  let token: string | undefined;
  do {
    const page = await ctx.hub.client.listInstances({
      ...filter,
      pageSize: Math.min(1000, COUNT_SCAN_LIMIT - total),
      continuationToken: token,
    });
    for (const instance of page.instances) counts[instance.runtimeStatus]++;
    total += page.instances.length;
    token = page.continuationToken;
  } while (token !== undefined && total < COUNT_SCAN_LIMIT);
  const body: CountsBody = { counts, total, complete: token === undefined };
  return { status: 200, body };
}
