/**
 * The messages of instances the SQLite store leased ahead (see `Store.leaseOrchestrationsAhead`),
 * kept so that `readLeasedMessages` can answer without reading them again when no message has
 * been inserted since: the inbox's AUTOINCREMENT sequence (`sqlite_sequence`, shared by every
 * connection to the file) grows with every insert and never shrinks, and only the lease holder
 * deletes or delays a held instance's messages. Purely a shortcut: a missing entry means a read.
 */
import type { InboxMessage, OrchestrationWorkItem } from "../store.js";
import type { Statements } from "./statements.js";

interface Held {
  /** The inbox sequence read before the lease. */
  inboxSeq: number;
  /** The leased messages are all the instance had before this time. */
  completeUntil: number;
  messages: InboxMessage[];
}

/** A leased-ahead item with the time until which its messages were all the instance had. */
export interface HeldItem {
  item: OrchestrationWorkItem;
  completeUntil: number;
}

/** Most entries kept; beyond that (leases never read back) all are dropped. */
const MAX_ENTRIES = 1_000_000;

/** Held messages by lease token (see the module comment). */
export class HeldMessages {
  private readonly byToken = new Map<string, Held>();

  /** Records the items of a lease ahead made after `inboxSeq` was read. */
  remember(items: readonly HeldItem[], inboxSeq: number): void {
    if (this.byToken.size + items.length > MAX_ENTRIES) this.byToken.clear();
    for (const { item, completeUntil } of items) {
      this.byToken.set(item.lease.token, { inboxSeq, completeUntil, messages: item.messages });
    }
  }

  /**
   * The messages visible at `now` of the lease with `token`, when they are known exactly: no message
   * was inserted since the lease (the sequence is still `inboxSeq`) and no other message of the
   * instance has become visible by `now`. Undefined otherwise. The entry is gone afterwards.
   */
  take(token: string, inboxSeq: number, now: number): InboxMessage[] | undefined {
    const held = this.byToken.get(token);
    if (!held) return undefined;
    this.byToken.delete(token);
    if (held.inboxSeq !== inboxSeq || now >= held.completeUntil) return undefined;
    return held.messages.filter((m) => m.visibleAt <= now);
  }

  /** Drops the entry of a released lease. */
  forget(token: string): void {
    this.byToken.delete(token);
  }
}

/** The items of a lease ahead, each with the time its next message (beyond those leased) comes due. */
export function heldItems(s: Statements, hub: string, items: readonly OrchestrationWorkItem[]): HeldItem[] {
  return items.map((item) => {
    const last = item.messages[item.messages.length - 1]?.visibleAt ?? Date.now();
    const next = (s.nextMessageAfter.get(hub, item.instance.instanceId, last) as { t: number | null }).t;
    return { item, completeUntil: next ?? Number.POSITIVE_INFINITY };
  });
}
