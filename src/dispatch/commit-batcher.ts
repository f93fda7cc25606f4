/**
 * Group commit: work items submit their commits one by one, and the batcher writes all that are
 * waiting in one store transaction (one fsync on SQLite, one round trip on PostgreSQL). A flush
 * starts on the next turn of the event loop, so every commit submitted in the same turn (a leased
 * batch of steps replays synchronously) goes together; commits submitted while a flush runs go in
 * the next one. Each submission settles with its own outcome: resolved (with what the commit
 * claimed or stepped) when committed, rejected with `LeaseLostError` when its lease was lost, or
 * with the flush's error.
 */
import type { CommitOutcome } from "../store/store.js";

/** The outcome of a commit that was written. */
export type Committed = Extract<CommitOutcome, { committed: true }>;

/** Largest number of commits written in one transaction. */
const MAX_FLUSH = 256;

interface Pending<I> {
  item: I;
  resolve: (outcome: Committed) => void;
  reject: (err: unknown) => void;
}

/** Batches commits of type `I` into calls of `flush`. */
export class CommitBatcher<I> {
  private queue: Pending<I>[] = [];
  private flushing = false;
  private scheduled = false;
  /** Items of the flush being written. */
  private writing = 0;

  constructor(
    /** Writes a batch in one transaction; one outcome per item, in order. */
    private readonly flush: (items: I[]) => Promise<CommitOutcome[]>,
  ) {}

  /** Commits submitted and not yet settled: queued or being written. */
  get waiting(): number {
    return this.queue.length + this.writing;
  }

  /** Queues a commit; settles once it is written (or refused). */
  submit(item: I): Promise<Committed> {
    return new Promise<Committed>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Queues a commit like `submit`, and gives the submitter's slot back (`release`) at once unless
   * more than `slots` commits then wait: a store slower than the work holds the slots back.
   */
  submitAndRelease(item: I, release: () => void, slots: number): Promise<Committed> {
    const committed = this.submit(item);
    if (this.waiting <= slots) release();
    return committed;
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, MAX_FLUSH);
    this.writing = batch.length;
    try {
      const outcomes = await this.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        const outcome = outcomes[i];
        if (outcome?.committed) p.resolve(outcome);
        else p.reject(outcome ? outcome.error : new Error("the store returned no outcome for a commit"));
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.writing = 0;
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
    }
  }
}
