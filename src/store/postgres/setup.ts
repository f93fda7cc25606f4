/**
 * The PostgreSQL store's options, resolved with their defaults, and `migrate` for operators who
 * apply the schema ahead of time.
 */
import pg from "pg";
import { InvalidArgumentError } from "../../core/errors.js";
import { withRetry } from "./errors.js";
import { applyMigrations, DEFAULT_SCHEMA, type MigrationResult, validateSchemaName } from "./schema.js";

/** Options of `PostgresStore` (and of `migrate`). */
export interface PostgresStoreOptions {
  /** e.g. "postgres://user@host:5432/db". Default: `pool.connectionString`, else env DATABASE_URL. */
  connectionString?: string;
  /** node-postgres pool settings (`max` defaults to 10, `application_name` to "refrain"). */
  pool?: pg.PoolConfig;
  /** The PostgreSQL schema holding the store's tables; created when missing. Default "refrain". */
  schema?: string;
  /** Retries of a call failing transiently, after the first attempt. Default 5. */
  maxRetries?: number;
}

/** The options with defaults applied and checked. */
export interface ResolvedOptions {
  pool: pg.PoolConfig;
  schema: string;
  maxRetries: number;
}

/**
 * Applies the defaults (pool size 10, `application_name` "refrain", env DATABASE_URL) and checks
 * the options; throws `INVALID_ARGUMENT` for a bad schema name or retry count, or no database.
 */
export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  const schema = validateSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const maxRetries = options.maxRetries ?? 5;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidArgumentError(`maxRetries must be a non-negative integer, got ${maxRetries}`);
  }
  const connectionString =
    options.connectionString ??
    options.pool?.connectionString ??
    (options.pool ? undefined : process.env.DATABASE_URL);
  if (connectionString === undefined && options.pool === undefined) {
    throw new InvalidArgumentError(
      "PostgresStore needs a database: pass connectionString or pool, or set DATABASE_URL",
    );
  }
  const pool: pg.PoolConfig = {
    max: 10,
    connectionTimeoutMillis: 10_000,
    application_name: "refrain",
    ...options.pool,
  };
  if (connectionString !== undefined) pool.connectionString = connectionString;
  return { pool, schema, maxRetries };
}

/**
 * Applies the store's schema migrations to the database, for operators (`refrain migrate`):
 * the same migration `open()` runs, safe to run while workers are starting. Returns the schema
 * version before and after.
 */
export async function migrate(options: PostgresStoreOptions): Promise<MigrationResult> {
  const resolved = resolveOptions(options);
  const ctx = { operation: "migrate", schema: resolved.schema };
  return withRetry(ctx, resolved, async () => {
    const client = new pg.Client(resolved.pool);
    client.on("error", () => {});
    try {
      await client.connect();
      return await applyMigrations(client, resolved.schema);
    } finally {
      await client.end().catch(() => {});
    }
  });
}
