/**
 * Group creation for the PostgreSQL store: the `createInstance` calls of one turn of the event
 * loop (a web server starting many orchestrations at once, a benchmark) go to the database as one
 * call per hub, one transaction and one WAL flush, instead of one round trip each competing for
 * the pool. Each call still settles on its own: created (with the tasks its first step claimed),
 * or `InstanceAlreadyExistsError`. The claims of one batch's calls (one hub's worker) add up.
 */
import { InstanceAlreadyExistsError } from "../../core/errors.js";
import type { ActivityClaim, ActivityWorkItem, CreateOptions, NewInstance } from "../store.js";
import { checkpointJson, instanceJson, toNotifications } from "./operations.js";
import { idOrder, TurnQueue } from "./turn-queue.js";
import { claimedWorkItems, claimJson, type TaskRow, type WorkBinding } from "./work.js";

/** Largest number of instances created in one call. */
const MAX_BATCH = 500;

interface PendingCreate {
  instance: NewInstance;
  options: CreateOptions;
  resolve: (claimed: ActivityWorkItem[]) => void;
  reject: (err: unknown) => void;
}

/** What `refrain_create_instances` returns. */
interface CreateResult {
  conflicts: { index: number; status: string }[];
  claimed: Record<string, TaskRow[]>;
  notes: unknown;
}

/**
 * The claim of a batch: the sum of its calls' claims, all of one worker (a call claiming for
 * another worker claims nothing in this batch).
 */
function batchClaim(batch: readonly PendingCreate[]): ActivityClaim | undefined {
  let total: ActivityClaim | undefined;
  for (const { options } of batch) {
    const claim = options.claim;
    if (!claim) continue;
    if (!total) total = { ...claim };
    else if (claim.workerId === total.workerId) total.max += claim.max;
  }
  return total;
}

/** Coalesces concurrent instance creations into batched calls. */
export class CreateQueue {
  private readonly queue = new TurnQueue<PendingCreate>(
    MAX_BATCH,
    (hub, batch) => void this.send(hub, batch),
  );

  constructor(private readonly b: WorkBinding) {}

  /** Queues one creation; settles when its batch committed (or failed). */
  create(hub: string, instance: NewInstance, options: CreateOptions): Promise<ActivityWorkItem[]> {
    return new Promise<ActivityWorkItem[]>((resolve, reject) => {
      this.queue.add(hub, { instance, options, resolve, reject });
    });
  }

  /** Sends everything queued now (also before the store closes). */
  flush(): void {
    this.queue.flush();
  }

  private async send(hub: string, batch: PendingCreate[]): Promise<void> {
    const order = idOrder(batch.map((p) => p.instance.instanceId));
    let result: CreateResult;
    try {
      // Built here, so that a failure settles every call of the batch rather than none.
      const body = JSON.stringify(
        order.map((i) => {
          const { instance, options } = batch[i]!;
          const item = instanceJson(instance);
          return options.firstStep ? { firstStep: checkpointJson(options.firstStep), ...item } : item;
        }),
      );
      const claim = claimJson(batchClaim(batch), Date.now());
      result = await this.b.run("createInstance", undefined, async (db, attempt) => {
        const { rows } = await db.query<{ result: CreateResult }>(
          `SELECT ${this.b.schema}.refrain_create_instances($1, $2::jsonb, $3, $4, $5, $6::jsonb) AS result`,
          [hub, body, attempt > 1, this.b.origin, Date.now(), claim],
        );
        return rows[0]!.result;
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.b.emit(hub, toNotifications(result.notes));
    this.b.wrote(batch.length);
    const refused = new Map(result.conflicts.map((c) => [order[c.index]!, c.status]));
    const claimed = new Map(Object.entries(result.claimed).map(([k, rows]) => [order[Number(k)]!, rows]));
    batch.forEach((p, i) => {
      const status = refused.get(i);
      if (status === undefined) p.resolve(claimedWorkItems(hub, claimed.get(i)));
      else p.reject(new InstanceAlreadyExistsError(p.instance.instanceId, status));
    });
  }
}
