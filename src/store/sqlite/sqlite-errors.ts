/**
 * Maps better-sqlite3 errors onto the Refrain error family: a busy or locked database is
 * retryable (`StoreUnavailableError`), a damaged or foreign file is `StoreCorruptError`, a
 * violated constraint is an internal error. Refrain errors pass through unchanged.
 */
import { RefrainError, StoreCorruptError, StoreUnavailableError } from "../../core/errors.js";

/** The SQLite result code of an error (e.g. "SQLITE_BUSY"), if it has one. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** Translates an error thrown by SQLite while working on the file at `path`. */
export function translateSqliteError(err: unknown, path: string, context: string): unknown {
  if (err instanceof RefrainError) return err;
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) {
    if (err instanceof Error && /not open|connection/i.test(message)) {
      return new RefrainError("STORE_CLOSED", `${context}: ${message}`, { cause: err });
    }
    return err;
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreUnavailableError(
      `${context}: the database '${path}' is busy (${message}); retry later`,
      err,
    );
  }
  if (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT")) {
    return new StoreCorruptError(`'${path}' is not a Refrain store: ${message}`, err);
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) {
    return new RefrainError("INTERNAL", `${context}: constraint violated in '${path}': ${message}`, {
      cause: err,
    });
  }
  if (
    code.startsWith("SQLITE_CANTOPEN") ||
    code.startsWith("SQLITE_IOERR") ||
    code.startsWith("SQLITE_FULL") ||
    code.startsWith("SQLITE_READONLY") ||
    code.startsWith("SQLITE_PERM")
  ) {
    return new StoreUnavailableError(`${context}: ${message} ('${path}')`, err);
  }
  return new RefrainError("INTERNAL", `${context}: ${message} ('${path}')`, { cause: err });
}
