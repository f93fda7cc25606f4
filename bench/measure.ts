/**
 * Measuring tools: a peak-RSS sampler, CPU time, percentiles and the median/min/max summary of
 * repeated runs, and a bounded-concurrency loop for starting many instances.
 */

/** How often the resident set size is sampled. */
export const RSS_SAMPLE_MS = 50;

const MB = 1024 * 1024;

/** Samples `process.memoryUsage.rss()` every 50 ms until stopped; reports the peak in MB. */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }

  /** The highest RSS seen so far, in MB. */
  peakMb(): number {
    this.sample();
    return this.peak / MB;
  }

  /** Stops sampling and returns the peak in MB. */
  stop(): number {
    clearInterval(this.timer);
    return this.peakMb();
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }
}

/** The current RSS in MB. */
export function rssMb(): number {
  return process.memoryUsage.rss() / MB;
}

/** CPU seconds (user + system) of this process since `since` (a `process.cpuUsage()` value). */
export function cpuSecondsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** The `p`-th percentile (0..100) of `values`, nearest-rank method; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Median, min and max of the repeats of one figure. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** Summarises repeated measurements (the median of an even count is the mean of the middle two). */
export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** Rounds for display and JSON: integers from 100 up, 2 decimals from 1, else 3 significant decimals. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value);
  if (abs >= 1) return Math.round(value * 100) / 100;
  return Math.round(value * 1000) / 1000;
}

/**
 * Calls `fn(i)` for i = 0..count-1 with at most `limit` calls in flight, reporting progress with
 * `onProgress(done)` after each call; resolves with the results in order.
 */
export async function forEachLimited<T>(
  count: number,
  limit: number,
  fn: (i: number) => Promise<T>,
  onProgress: (done: number) => void = () => {},
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let done = 0;
  async function lane(): Promise<void> {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
      onProgress(++done);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return results;
}

/** Milliseconds elapsed since `start` (a `performance.now()` value). */
export function msSince(start: number): number {
  return performance.now() - start;
}
