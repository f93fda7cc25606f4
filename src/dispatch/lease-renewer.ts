/**
 * Keeps the leases of running work alive: one timer per dispatcher (not one per work item) that
 * renews every held lease about to pass two thirds of its length, so long activities are not
 * taken over mid-run, and reports a lease that could not be renewed because it was lost.
 */
import { LeaseLostError } from "../core/errors.js";

/** A lease being kept alive. */
export interface HeldLease<L> {
  /** The latest lease (renewals move its expiry). */
  readonly current: L;
  /** Stops renewing and returns the latest lease, for the final commit. */
  stop(): L;
}

interface Hold<L> {
  lease: L;
  renewing: boolean;
  stopped: boolean;
  onLost?: (err: unknown) => void;
}

/** Renews the held leases of one dispatcher. */
export class LeaseRenewer<L extends { expiresAt: number }> {
  private readonly holds = new Set<Hold<L>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly leaseMs: number,
    private readonly renew: (lease: L) => Promise<L>,
  ) {}

  /** Keeps `lease` alive until `stop()`; `onLost` hears when it was lost meanwhile. */
  hold(lease: L, onLost?: (err: unknown) => void): HeldLease<L> {
    const hold: Hold<L> = { lease, renewing: false, stopped: false, onLost };
    this.holds.add(hold);
    this.timer ??= setInterval(() => this.tick(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
    return {
      get current() {
        return hold.lease;
      },
      stop: () => {
        hold.stopped = true;
        this.release(hold);
        return hold.lease;
      },
    };
  }

  private release(hold: Hold<L>): void {
    this.holds.delete(hold);
    if (this.holds.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const due = Date.now() + (2 * this.leaseMs) / 3;
    for (const hold of this.holds) {
      if (hold.renewing || hold.lease.expiresAt > due) continue;
      hold.renewing = true;
      this.renew(hold.lease).then(
        (renewed) => {
          hold.renewing = false;
          if (!hold.stopped) hold.lease = renewed;
        },
        (err: unknown) => {
          hold.renewing = false;
          // Other errors (a busy store) are retried at the next tick; the lease may still be valid.
          if (!(err instanceof LeaseLostError) || hold.stopped) return;
          this.release(hold);
          hold.onLost?.(err);
        },
      );
    }
  }
}
