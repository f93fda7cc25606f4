/**
 * Group append for the PostgreSQL store: the `appendMessage` calls of one turn of the event loop
 * (a web server raising many events, a client signalling many entities) go to the database as one
 * call per hub, one transaction and one WAL flush, instead of one round trip each competing for
 * the pool. A turn with a single call sends it as before. Each call still settles on its own:
 * added, or refused with the error a call of its own would get (`InstanceNotFoundError`,
 * `InstanceNotRunningError`, `InvalidStateError`), having changed nothing.
 */
import { randomUUID } from "node:crypto";
import type { AppendOptions, NewMessage } from "../store.js";
import { translatePgError } from "./errors.js";
import { appendJson, toNotifications } from "./operations.js";
import { idOrder, TurnQueue } from "./turn-queue.js";
import type { WorkBinding } from "./work.js";

/** Largest number of messages added in one call. */
const MAX_BATCH = 500;

interface PendingAppend {
  message: NewMessage;
  options: AppendOptions | undefined;
  /** The same on every attempt: a retry after a commit whose reply was lost changes nothing. */
  key: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What `refrain_append_messages` returns. */
interface AppendResult {
  refused: { index: number; code: string; status: string | null }[];
  notes: unknown;
}

/** Coalesces concurrent appends into batched calls. */
export class AppendQueue {
  private readonly queue = new TurnQueue<PendingAppend>(MAX_BATCH, (hub, batch) => {
    void (batch.length === 1 ? this.sendOne(hub, batch[0]!) : this.send(hub, batch));
  });

  constructor(private readonly b: WorkBinding) {}

  /** Queues one append; settles when its batch committed (or failed). */
  append(hub: string, message: NewMessage, options: AppendOptions | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.add(hub, { message, options, key: randomUUID(), resolve, reject });
    });
  }

  /** Sends everything queued now (also before the store closes). */
  flush(): void {
    this.queue.flush();
  }

  private async sendOne(hub: string, p: PendingAppend): Promise<void> {
    const { from, to } = p.options?.transition ?? {};
    try {
      const body = JSON.stringify(appendJson(p.message));
      const notes = await this.b.run("appendMessage", p.message.instanceId, async (db) => {
        const params = [hub, body, p.options?.onlyIfActive === true, this.b.origin, from ?? null, to ?? null];
        const { rows } = await db.query(this.b.sql.appendMessage, [...params, Date.now(), p.key]);
        return rows[0]?.notes;
      });
      this.b.emit(hub, toNotifications(notes));
      p.resolve();
    } catch (err) {
      p.reject(err);
    }
  }

  private async send(hub: string, batch: PendingAppend[]): Promise<void> {
    const order = idOrder(batch.map((p) => p.message.instanceId));
    let result: AppendResult;
    try {
      const body = JSON.stringify(
        order.map((i) => {
          const { message, options, key } = batch[i]!;
          const { from, to } = options?.transition ?? {};
          return { m: appendJson(message), onlyIfActive: options?.onlyIfActive === true, from, to, key };
        }),
      );
      result = await this.b.run("appendMessage", undefined, async (db) => {
        const { rows } = await db.query<{ result: AppendResult }>(
          `SELECT ${this.b.schema}.refrain_append_messages($1, $2::jsonb, $3, $4) AS result`,
          [hub, body, this.b.origin, Date.now()],
        );
        return rows[0]!.result;
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.b.emit(hub, toNotifications(result.notes));
    this.b.wrote(batch.length - result.refused.length);
    const refused = new Map(result.refused.map((r) => [order[r.index]!, r]));
    for (const [i, p] of batch.entries()) {
      const r = refused.get(i);
      if (r === undefined) {
        p.resolve();
        continue;
      }
      // The refusal as the single call's SQLSTATE would have raised it.
      const err = Object.assign(new Error(r.status ?? ""), { code: r.code });
      const context = { operation: "appendMessage", schema: this.b.schema, subject: p.message.instanceId };
      p.reject(translatePgError(err, context));
    }
  }
}
