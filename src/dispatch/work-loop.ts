/**
 * A work loop: leases items in batches while below its concurrency limit, processes them concurrently, and
 * sleeps when idle until the next known due time, an in-process wake-up, or a polling deadline
 * (the fallback for work written by other processes), whichever comes first. Work announced as
 * visible only later (`wakeAt`) shortens the idle sleep instead of starting a fetch. Items leased
 * elsewhere (claimed by a commit) join through `reserve` and `adopt`, within the same limit.
 */

/** How a loop gets and handles its work. */
export interface WorkLoopOptions<T> {
  /** For log messages. */
  name: string;
  concurrency: number;
  /** Leases up to `max` items (≥ 1); an empty array when there is none. */
  fetch: (max: number) => Promise<T[]>;
  /**
   * Handles one leased item; must not throw (errors are reported to `onError` regardless). The
   * item holds a slot until its promise settles or, earlier, it calls `release` (when what is left
   * is only waiting, such as a result's commit, and another item may start meanwhile).
   */
  process: (item: T, release: () => void) => Promise<void>;
  /** Earliest time (ms) future work becomes visible, if known. */
  nextDue: () => Promise<number | undefined>;
  /** Upper bound of an idle sleep: how quickly work from other processes is noticed. */
  maxIdleMs: number;
  onError: (err: unknown) => void;
}

const MIN_IDLE_MS = 20;

/**
 * How long an idle loop sleeps, given `due` (the earliest time known work becomes visible, if
 * any), the time now, the time its last lease began and the polling interval: until `due`, at most
 * `pollMs`. Work due already was either invisible to that lease (it became due after the lease
 * began: lease again at once) or is held by another worker's lease (poll for it).
 */
export function idleSleepMs(
  due: number | undefined,
  now: number,
  lastLeaseAt: number,
  pollMs: number,
): number {
  if (due === undefined) return pollMs;
  if (due > now) return Math.min(due - now, pollMs);
  return due >= lastLeaseAt ? 0 : pollMs;
}

/** Runs `fetch`/`process` until stopped. */
export class WorkLoop<T> {
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Items holding a slot. */
  private busy = 0;
  /** Every item not yet finished, holding a slot or not (`drain` waits for them). */
  private readonly unfinished = new Set<Promise<void>>();
  /** Ends the current sleep; set while the loop sleeps. */
  private wakeSignal: (() => void) | undefined;
  /** The current sleep's timer, and when it ends (infinity: only a wake-up ends it). */
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private sleepEnd = Number.POSITIVE_INFINITY;
  /** The earliest time given to `wakeAt` since the last fetch began. */
  private wakeHint: number | undefined;
  private wakeRequested = false;
  /** True while the loop waits for a free slot. */
  private saturated = false;
  /** Slots promised to items that `adopt` will bring. */
  private reserved = 0;
  /** Wakes a `drain` waiting for reserved slots to be adopted. */
  private adopted: (() => void) | undefined;
  private idleMs = MIN_IDLE_MS;
  /** When the last `fetch` began. */
  private lastFetchAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: WorkLoopOptions<T>) {}

  /** Free slots: neither processing an item nor reserved. */
  private get free(): number {
    return this.options.concurrency - this.busy - this.reserved;
  }

  /**
   * Reserves every free slot (none once stopped) for items leased elsewhere, which `adopt` will
   * bring; returns how many were reserved.
   */
  reserve(): number {
    const n = this.running ? Math.max(0, this.free) : 0;
    this.reserved += n;
    return n;
  }

  /**
   * Processes `items` (at most `reserved` of them) in slots reserved for them, and frees the rest
   * of the `reserved` slots.
   */
  adopt(items: readonly T[], reserved: number): void {
    this.reserved -= reserved;
    for (const item of items) this.track(item);
    // Slots given back unused are not new work: the loop resumes its polling where it was, rather
    // than from the shortest interval (a stream of commits would otherwise keep it polling fast).
    if (items.length < reserved && this.saturated) this.resume();
    this.adopted?.();
  }

  /** Starts the loop. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.run();
  }

  /** Ends any idle sleep now: new work may be available. */
  wake(): void {
    this.wakeRequested = true;
    this.idleMs = MIN_IDLE_MS;
    this.resume();
  }

  /**
   * Work becomes visible at `time` (ms): an idle sleep ends then at the latest, and no fetch runs
   * before. (A fetch that begins meanwhile is followed by the due-time query, which sees it.)
   */
  wakeAt(time: number): void {
    if (this.wakeHint === undefined || time < this.wakeHint) this.wakeHint = time;
    if (!this.saturated) this.endSleepBy(time);
  }

  /** Ends the current sleep, if any, leaving the polling interval as it is. */
  private resume(): void {
    const signal = this.wakeSignal;
    this.wakeSignal = undefined;
    signal?.();
  }

  /** Stops leasing new items and waits for the loop to exit (in-flight items continue). */
  async stopLeasing(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
  }

  /** Waits for every in-flight item, and every item a reservation will bring, to finish. */
  async drain(): Promise<void> {
    while (this.unfinished.size > 0 || this.reserved > 0) {
      if (this.unfinished.size > 0) await Promise.allSettled([...this.unfinished]);
      else
        await new Promise<void>((resolve) => {
          this.adopted = resolve;
        });
    }
    this.adopted = undefined;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.wakeRequested = false;
      let leased = 0;
      try {
        while (this.running && this.free > 0) {
          const free = this.free;
          this.lastFetchAt = Date.now();
          this.wakeHint = undefined;
          const items = await this.options.fetch(free);
          for (const item of items) this.track(item);
          leased += items.length;
          if (items.length < free) break;
        }
      } catch (err) {
        this.options.onError(err);
      }
      if (!this.running) break;
      if (this.free <= 0) {
        this.saturated = true;
        await this.sleep(Number.POSITIVE_INFINITY, false);
        this.saturated = false;
        // Items finish in groups (a group commit settles many at once): let the rest of this turn
        // free their slots, so the next lease takes a batch rather than one item at a time.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      // The queue was drained (a batch came back short): sleep until woken by new work, a due
      // time or the polling deadline, rather than asking the store again at once.
      if (leased > 0) {
        this.idleMs = MIN_IDLE_MS;
        // Let the items just leased commit first: the due-time query is off their critical path.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.wakeRequested) continue;
      await this.sleep(await this.idleDelay(), true);
    }
  }

  private track(item: T): void {
    this.busy++;
    let holding = true;
    const release = () => {
      if (!holding) return;
      holding = false;
      this.busy--;
      // A free slot matters only to a loop that waits for one.
      if (this.saturated) this.wake();
    };
    const done = this.options
      .process(item, release)
      .catch((err: unknown) => this.options.onError(err))
      .finally(() => {
        release();
        this.unfinished.delete(done);
      });
    this.unfinished.add(done);
  }

  private async idleDelay(): Promise<number> {
    const poll = this.idleMs;
    this.idleMs = Math.min(this.idleMs * 2, this.options.maxIdleMs);
    let due: number | undefined;
    try {
      due = await this.options.nextDue();
    } catch (err) {
      this.options.onError(err);
    }
    return idleSleepMs(due, Date.now(), this.lastFetchAt, poll);
  }

  /** Sleeps `ms` (infinity: until woken); an `idle` sleep also ends at a `wakeAt` time. */
  private sleep(ms: number, idle: boolean): Promise<void> {
    if (this.wakeRequested || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(this.sleepTimer);
        this.sleepTimer = undefined;
        this.sleepEnd = Number.POSITIVE_INFINITY;
        if (this.wakeSignal === finish) this.wakeSignal = undefined;
        resolve();
      };
      this.wakeSignal = finish;
      if (Number.isFinite(ms)) this.endSleepBy(Date.now() + Math.max(0, ms));
      if (idle && this.wakeHint !== undefined) this.endSleepBy(this.wakeHint);
    });
  }

  /** Makes the current sleep, if any, end by `time`. */
  private endSleepBy(time: number): void {
    const finish = this.wakeSignal;
    if (!finish || time >= this.sleepEnd) return;
    clearTimeout(this.sleepTimer);
    this.sleepEnd = time;
    this.sleepTimer = setTimeout(finish, Math.max(0, time - Date.now()));
  }
}
