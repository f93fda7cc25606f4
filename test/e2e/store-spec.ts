/**
 * Store specifications of the crash tests: one string that tells a worker process which store to
 * open, `sqlite:<path>` or `postgres:<url>#<schema>`, so the same worker program, harness and
 * checks serve both stores. Also the PostgreSQL application name a worker connects with, by which
 * the connection-fault test finds (and terminates) the workers' backends.
 */
import { PostgresStore, SqliteStore, type Store } from "../../src/index.js";

/** Where a crash test's data lives. */
export type StoreSpec = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema: string };

/** The spec of a SQLite file. */
export function sqliteSpec(path: string): StoreSpec {
  return { kind: "sqlite", path };
}

/** The spec of a schema in a PostgreSQL database. */
export function postgresSpec(url: string, schema: string): StoreSpec {
  return { kind: "postgres", url, schema };
}

/** The command-line form: `sqlite:<path>` or `postgres:<url>#<schema>`. */
export function formatStoreSpec(spec: StoreSpec): string {
  return spec.kind === "sqlite" ? `sqlite:${spec.path}` : `postgres:${spec.url}#${spec.schema}`;
}

/** Parses the command-line form; throws on anything else. */
export function parseStoreSpec(text: string): StoreSpec {
  if (text.startsWith("sqlite:") && text.length > "sqlite:".length) {
    return sqliteSpec(text.slice("sqlite:".length));
  }
  if (text.startsWith("postgres:")) {
    const rest = text.slice("postgres:".length);
    const hash = rest.lastIndexOf("#");
    if (hash > 0 && hash < rest.length - 1) return postgresSpec(rest.slice(0, hash), rest.slice(hash + 1));
  }
  throw new Error(`not a store spec: '${text}' (expected sqlite:<path> or postgres:<url>#<schema>)`);
}

/**
 * The PostgreSQL `application_name` of the workers on `schema`: unique per test (the schema is),
 * so terminating its backends never touches another test's connections.
 */
export function workerApplicationName(schema: string): string {
  return `rf-worker-${schema}`;
}

/** Connections of one worker's pool; small, so several workers fit the server's limit. */
const WORKER_POOL_SIZE = 4;

/** Opens (constructs) the store a spec names, as a worker process uses it. */
export function storeFromSpec(spec: StoreSpec): Store {
  if (spec.kind === "sqlite") return new SqliteStore({ path: spec.path });
  return new PostgresStore({
    connectionString: spec.url,
    schema: spec.schema,
    pool: { max: WORKER_POOL_SIZE, application_name: workerApplicationName(spec.schema) },
  });
}
