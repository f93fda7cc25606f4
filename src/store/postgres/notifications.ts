/**
 * Change notifications of the PostgreSQL store. Changes made through this store are delivered to
 * its listeners directly after they commit; changes made by every other process (or another store
 * object) on the same schema arrive through LISTEN on the schema's channel, on one dedicated
 * connection opened at the first `subscribe`. The store's functions send each notification with
 * `pg_notify` inside the writing transaction, tagged with the writer's origin so a store ignores
 * the echo of its own changes. Other processes' changes made before the first LISTEN takes effect
 * are not delivered (subscribers read the store after subscribing anyway). If the listening
 * connection drops (or cannot be opened) it is reopened with backoff, and every hub with listeners
 * then gets a synthetic "orchestration-work" (instanceId "") and "activity-work", since
 * notifications sent while it was down are lost.
 */
import pg from "pg";
import type { RuntimeStatus } from "../../core/events.js";
import { NotificationHub } from "../common.js";
import type { StoreNotification } from "../store.js";

/** Settings of a change feed. */
export interface ChangeFeedOptions {
  /** How to open the listening connection. */
  client: pg.ClientConfig;
  /** The schema's LISTEN/NOTIFY channel. */
  channel: string;
  /** This store's origin tag: notifications carrying it were already delivered locally. */
  origin: string;
}

/** Longest wait between attempts to reopen the listening connection. */
const MAX_BACKOFF_MS = 5000;

const KINDS = new Set(["orchestration-work", "activity-work", "instance-updated"]);

/** Parses a notification payload; undefined for anything that is not one of ours. */
function parsePayload(
  payload: string | undefined,
): { hub: string; origin: string; n: StoreNotification } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? "");
  } catch {
    return undefined;
  }
  const v = value as {
    hub?: unknown;
    origin?: unknown;
    kind?: unknown;
    instanceId?: unknown;
    runtimeStatus?: unknown;
    visibleAt?: unknown;
  };
  if (typeof v?.hub !== "string" || typeof v.kind !== "string" || !KINDS.has(v.kind)) return undefined;
  const origin = typeof v.origin === "string" ? v.origin : "";
  const instanceId = typeof v.instanceId === "string" ? v.instanceId : "";
  const n: StoreNotification =
    v.kind === "activity-work"
      ? { kind: "activity-work" }
      : v.kind === "orchestration-work"
        ? typeof v.visibleAt === "number" && Number.isFinite(v.visibleAt)
          ? { kind: "orchestration-work", instanceId, visibleAt: v.visibleAt }
          : { kind: "orchestration-work", instanceId }
        : { kind: "instance-updated", instanceId, runtimeStatus: v.runtimeStatus as RuntimeStatus };
  return { hub: v.hub, origin, n };
}

/** Local and cross-process change notifications of one store. */
export class ChangeFeed {
  private readonly listeners = new NotificationHub();
  private readonly hubs = new Map<string, number>();
  private client: pg.Client | undefined;
  private started = false;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private ready: Promise<void>;
  private markReady: () => void = () => {};

  /** Configures the feed; nothing is opened until the first `subscribe`. */
  constructor(private readonly options: ChangeFeedOptions) {
    this.ready = this.newReadyPromise();
  }

  /** Registers a listener for one hub and starts listening for other processes' changes. */
  subscribe(hub: string, listener: (n: StoreNotification) => void): () => void {
    this.hubs.set(hub, (this.hubs.get(hub) ?? 0) + 1);
    const unsubscribe = this.listeners.subscribe(hub, listener);
    if (!this.started && !this.closed) {
      this.started = true;
      this.connect();
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      const count = (this.hubs.get(hub) ?? 1) - 1;
      if (count > 0) this.hubs.set(hub, count);
      else this.hubs.delete(hub);
    };
  }

  /** Delivers notifications of a change this store committed to its own listeners. */
  emit(hub: string, notifications: readonly StoreNotification[]): void {
    this.listeners.emit(hub, notifications);
  }

  /**
   * Resolves once the listening connection is established (again, after a drop): from then on
   * other processes' changes are delivered. Only meaningful after the first `subscribe`.
   */
  whenListening(): Promise<void> {
    return this.ready;
  }

  /** Stops listening, closes the connection and removes every listener. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.listeners.clear();
    this.hubs.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private newReadyPromise(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.markReady = resolve;
    });
  }

  private connect(): void {
    if (this.closed) return;
    const client = new pg.Client(this.options.client);
    this.client = client;
    let dropped = false;
    const drop = (): void => {
      if (dropped) return;
      dropped = true;
      this.dropped(client);
    };
    client.on("error", drop);
    client.on("end", drop);
    client.on("notification", (message) => this.deliver(message.payload));
    client
      .connect()
      .then(() => client.query(`LISTEN "${this.options.channel}"`))
      .then(() => {
        if (dropped || this.closed) return;
        const recovered = this.failures > 0;
        this.failures = 0;
        this.markReady();
        // Anything sent while the connection was down was missed: wake everyone.
        if (!recovered) return;
        for (const hub of [...this.hubs.keys()]) {
          this.listeners.emit(hub, [
            { kind: "orchestration-work", instanceId: "" },
            { kind: "activity-work" },
          ]);
        }
      })
      .catch(drop);
  }

  private dropped(client: pg.Client): void {
    client.end().catch(() => {});
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.ready = this.newReadyPromise();
    const delay = Math.min(MAX_BACKOFF_MS, 50 * 2 ** this.failures);
    this.failures++;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private deliver(payload: string | undefined): void {
    const parsed = parsePayload(payload);
    if (!parsed || parsed.origin === this.options.origin) return;
    this.listeners.emit(parsed.hub, [parsed.n]);
  }
}
