/**
 * Request validation of the HTTP API: the access key, the query string (only known parameters,
 * each once, with typed values) and the JSON body (size limit, media type, syntax). Everything
 * here runs before a route touches the client, so a rejected request changes nothing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { RUNTIME_STATUSES, type RuntimeStatus } from "../core/events.js";
import { HttpProblem } from "./problem.js";

/** Query parameters every route accepts: Durable Functions' `taskHub`, `connection` and `code`. */
export const COMMON_QUERY = ["taskHub", "connection", "code"] as const;

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Throws 401 unless the request carries `key` in the `x-refrain-key` header or the `code` query
 * parameter. Compares digests in constant time, so timing reveals nothing about the key.
 */
export function checkKey(req: IncomingMessage, query: URLSearchParams, key: string | undefined): void {
  if (key === undefined) return;
  const header = req.headers["x-refrain-key"];
  const given = typeof header === "string" ? header : (query.get("code") ?? undefined);
  if (given === undefined || !timingSafeEqual(digest(given), digest(key))) {
    throw new HttpProblem(
      401,
      "UNAUTHORIZED",
      "a valid key is required (x-refrain-key header or code= query)",
      {
        "www-authenticate": 'ApiKey header="x-refrain-key"',
      },
    );
  }
}

/** Typed access to a validated query string. */
export class Query {
  private constructor(private readonly params: URLSearchParams) {}

  /** Rejects unknown and repeated parameters; `allowed` adds to the common ones. */
  static parse(params: URLSearchParams, allowed: readonly string[], route: string): Query {
    const known = new Set<string>([...COMMON_QUERY, ...allowed]);
    const seen = new Set<string>();
    for (const name of params.keys()) {
      if (!known.has(name)) {
        const list = allowed.length ? allowed.join(", ") : "none besides taskHub, connection, code";
        throw new HttpProblem(
          400,
          "BAD_REQUEST",
          `unknown query parameter '${name}' for ${route} (known: ${list})`,
        );
      }
      if (seen.has(name)) throw new HttpProblem(400, "BAD_REQUEST", `query parameter '${name}' is repeated`);
      seen.add(name);
    }
    return new Query(params);
  }

  /** A string parameter, or undefined when absent. */
  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** `true`/`false` (case-insensitive), or `fallback` when absent. */
  boolean(name: string, fallback: boolean): boolean {
    const text = this.params.get(name);
    if (text === null) return fallback;
    const lower = text.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    throw new HttpProblem(
      400,
      "BAD_REQUEST",
      `query parameter '${name}' must be true or false, got '${text}'`,
    );
  }

  /** An ISO-8601 date or date-time, or undefined when absent. */
  date(name: string): Date | undefined {
    const text = this.params.get(name);
    if (text === null) return undefined;
    const date = ISO_DATE.test(text) ? new Date(text) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) {
      throw new HttpProblem(
        400,
        "BAD_REQUEST",
        `query parameter '${name}' must be an ISO-8601 date-time (e.g. 2024-05-01T12:00:00Z), got '${text}'`,
      );
    }
    return date;
  }

  /** A whole number from `min` to `max`, or undefined when absent. */
  integer(name: string, min: number, max: number): number | undefined {
    const text = this.params.get(name);
    if (text === null) return undefined;
    const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) {
      throw new HttpProblem(
        400,
        "BAD_REQUEST",
        `query parameter '${name}' must be a whole number from ${min} to ${max}, got '${text}'`,
      );
    }
    return value;
  }

  /** A comma-separated list of runtime statuses (case-insensitive), or undefined when absent. */
  statuses(name: string): RuntimeStatus[] | undefined {
    const text = this.params.get(name);
    if (text === null) return undefined;
    const out: RuntimeStatus[] = [];
    for (const part of text.split(",")) {
      const status = RUNTIME_STATUSES.find((s) => s.toLowerCase() === part.trim().toLowerCase());
      if (!status) {
        throw new HttpProblem(
          400,
          "BAD_REQUEST",
          `query parameter '${name}' has unknown status '${part}' (expected ${RUNTIME_STATUSES.join(", ")})`,
        );
      }
      if (!out.includes(status)) out.push(status);
    }
    return out;
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** What `readJsonBody` found: no body at all, or a parsed JSON value. */
export type JsonBody = { present: false } | { present: true; value: unknown };

function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Reads the raw body, rejecting with 413 as soon as it exceeds `limit` bytes. The rest of an
 * oversized body is left unread (the response closes the connection), not buffered.
 */
function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      req.pause();
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

function tooLarge(limit: number): HttpProblem {
  return new HttpProblem(413, "PAYLOAD_TOO_LARGE", `the request body exceeds ${limit} bytes`, {
    connection: "close",
  });
}

/**
 * Reads a JSON body: absent when empty; 415 unless a non-empty body is declared JSON
 * (`application/json` or `application/*+json`); 400 when it does not parse; 413 above `limit`.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonBody> {
  const raw = await readRaw(req, limit);
  if (raw.length === 0) return { present: false };
  if (!isJsonMediaType(req.headers["content-type"])) {
    throw new HttpProblem(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `the body must be JSON sent as application/json, got '${req.headers["content-type"] ?? "no content type"}'`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new HttpProblem(400, "BAD_REQUEST", "the request body is not valid UTF-8");
  }
  try {
    return { present: true, value: JSON.parse(text) };
  } catch (err) {
    throw new HttpProblem(
      400,
      "BAD_REQUEST",
      `the request body is not valid JSON: ${(err as Error).message}`,
    );
  }
}

/** Reads the body of a route that takes none: 400 when it is not empty (413 above `limit`). */
export async function readNoBody(req: IncomingMessage, limit: number): Promise<void> {
  const raw = await readRaw(req, limit);
  if (raw.length > 0) throw new HttpProblem(400, "BAD_REQUEST", "this route takes no request body");
}
