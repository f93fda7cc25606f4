/**
 * Keeps a lease alive while its work runs: renews it every third of the lease time and reports
 * when renewal fails (the lease was lost), so long activities are not taken over mid-run.
 */
import { LeaseLostError } from "../core/errors.js";

/** Renews one lease periodically until stopped. */
export class LeaseKeeper<L extends { expiresAt: number }> {
  private timer: NodeJS.Timeout | undefined;
  private lease: L;

  constructor(
    lease: L,
    leaseMs: number,
    private readonly renew: (lease: L) => Promise<L>,
    private readonly onLost?: (err: unknown) => void,
  ) {
    this.lease = lease;
    this.timer = setInterval(() => void this.renewOnce(), Math.max(10, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /** The latest lease (renewals move its expiry). */
  get current(): L {
    return this.lease;
  }

  /** Stops renewing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and returns the latest lease, for the final commit. */
  stopAndGet(): L {
    this.stop();
    return this.lease;
  }

  private async renewOnce(): Promise<void> {
    if (!this.timer) return;
    try {
      const renewed = await this.renew(this.lease);
      if (this.timer) this.lease = renewed;
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.stop();
        this.onLost?.(err);
      }
      // Other errors (store busy) are retried at the next tick; the lease may still be valid.
    }
  }
}
