/**
 * Planner statistics for young tables. The store's functions are PL/pgSQL, whose statement plans
 * are cached per connection. A plan made while a table has never been analyzed (a new schema)
 * assumes the table is tiny, and may pick an index that matches only the hub for a lookup by
 * primary key: fine on ten rows, a scan of the whole hub per statement on a hundred thousand.
 * Autovacuum analyzes a table within about a minute of its first writes, which also invalidates
 * the cached plans; until then a busy new store slows down quadratically. So the store analyzes
 * its small tables (never analyzed, or fewer than a thousand rows when last analyzed) itself
 * after it has written a few hundred, a few thousand and a few tens of thousands of rows, and, as
 * a fallback, at a few moments after opening. A table analyzed while nearly empty (the activity
 * queue between bursts) still looks tiny to the planner, hence the later rounds; once a table was
 * analyzed with a thousand rows, its plans use the right indexes however large it grows.
 */
import type pg from "pg";

/** Rows written since open after which the small tables are analyzed, round by round. */
const ROUNDS = [200, 2_000, 20_000];
/** A table analyzed with fewer rows than this is analyzed again in the next round. */
const SMALL_TABLE_ROWS = 1_000;
/** Fallback checks, in milliseconds after the store opened. */
const CHECKS_MS = [2_000, 10_000, 60_000];

/** Analyzes the schema's never-analyzed tables soon after they get rows. */
export class StatsWarmup {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private written = 0;
  private running: Promise<void> | undefined;
  private done = false;
  private readonly openedAt = Date.now();

  constructor(
    private readonly pool: pg.Pool,
    /** The schema, unquoted. */
    private readonly schema: string,
  ) {
    this.schedule();
  }

  /** Counts rows this store wrote; crossing a round's count triggers an analysis. */
  wrote(rows: number): void {
    if (this.done) return;
    const before = this.written;
    this.written += rows;
    if (ROUNDS.some((round) => before < round && this.written >= round)) void this.check();
  }

  /** Stops looking (the store is closing). */
  stop(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const at = CHECKS_MS[this.next++];
    if (at === undefined || this.done) return;
    this.timer = setTimeout(
      () => void this.check().then(() => this.schedule()),
      Math.max(0, this.openedAt + at - Date.now()),
    );
    this.timer.unref();
  }

  private check(): Promise<void> {
    this.running ??= this.analyzeYoungTables().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async analyzeYoungTables(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ relname: string; young: boolean }>(
        `SELECT c.relname, c.reltuples < $2 AS young FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = 'r'`,
        [this.schema, SMALL_TABLE_ROWS],
      );
      const young = rows.filter((r) => r.young);
      if (young.length === 0 || this.written >= ROUNDS[ROUNDS.length - 1]!) this.stop();
      for (const { relname } of young) {
        if (this.done) return;
        await this.pool.query(`ANALYZE "${this.schema}"."${relname}"`);
      }
    } catch {
      // Not the tables' owner, or the pool is closing: autovacuum will do it.
    }
  }
}
