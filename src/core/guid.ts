/**
 * Deterministic name-based UUIDs (RFC 9562 version 5): the same name always gives the same ID,
 * on every replay and every worker. Used for `ctx.newGuid()` and for the request IDs of entity
 * calls and critical sections.
 */
import { createHash } from "node:crypto";

/** Namespace of `ctx.newGuid()`. */
export const GUID_NAMESPACE = "9e952958-5e33-4daf-827f-2fa12937b875";

/** Namespace of entity request and critical-section IDs. */
export const ENTITY_REQUEST_NAMESPACE = "4f1c2a6e-8b0d-4e57-9a3c-1d2e3f405162";

/**
 * The request ID of the entity call, signal or critical section recorded at `sequence` in one
 * execution: the same on every replay, unique across executions and instances.
 */
export function entityRequestId(instanceId: string, executionId: string, sequence: number): string {
  return uuidV5(`${instanceId}\n${executionId}\n${sequence}`, ENTITY_REQUEST_NAMESPACE);
}

/** The version-5 UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
