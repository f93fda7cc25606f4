/**
 * Payload (de)serialisation: the one place that decides what may be stored and how big it may be.
 * Payloads are JSON text; `undefined` is represented by the absence of a payload.
 */
import { PayloadNotSerializableError, PayloadTooLargeError } from "./errors.js";

/** A serialised payload: JSON text, or `undefined` for an `undefined` value. */
export type Payload = string | undefined;

/** Default payload size limit: 1 MiB of UTF-8 JSON. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "the value";
  return `the value at ${path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`;
}

function check(value: unknown, path: (string | number)[], stack: Set<object>, what: string): void {
  switch (typeof value) {
    case "function":
      throw new PayloadNotSerializableError(
        `${what}: ${describePath(path)} is a function, which JSON cannot hold`,
      );
    case "symbol":
      throw new PayloadNotSerializableError(
        `${what}: ${describePath(path)} is a symbol, which JSON cannot hold`,
      );
    case "bigint":
      throw new PayloadNotSerializableError(
        `${what}: ${describePath(path)} is a BigInt, which JSON cannot hold (convert it to a string)`,
      );
    case "object": {
      if (value === null) return;
      if (stack.has(value)) {
        throw new PayloadNotSerializableError(`${what}: ${describePath(path)} is a circular reference`);
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
      stack.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          path.push(i);
          check(item, path, stack, what);
          path.pop();
        });
      } else {
        for (const [key, item] of Object.entries(value)) {
          if (item === undefined) continue;
          path.push(key);
          check(item, path, stack, what);
          path.pop();
        }
      }
      stack.delete(value);
      return;
    }
    default:
      return;
  }
}

/**
 * Serialises a value to JSON text. Throws `PayloadNotSerializableError` for functions, symbols,
 * BigInts and cycles anywhere in the value, and `PayloadTooLargeError` above `maxBytes`.
 * `what` names the payload in error messages ("input of orchestration 'X'").
 */
export function serialize(value: unknown, what: string, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): Payload {
  if (value === undefined) return undefined;
  check(value, [], new Set(), what);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw new PayloadTooLargeError(what, bytes, maxBytes);
  return text;
}

/** Inverse of `serialize`. */
export function deserialize<T = unknown>(payload: Payload): T {
  return (payload === undefined ? undefined : JSON.parse(payload)) as T;
}
