/**
 * Typed references to registered functions. `hub.activity(...)`, `hub.orchestrator(...)` and
 * `hub.entity(...)` return these; passing one instead of a name gives typed inputs and results.
 */
import type { EntityId } from "./entity-id.js";

/** A registered activity: its name, plus its input and output types for the compiler. */
export interface ActivityRef<I = unknown, O = unknown> {
  readonly kind: "activity";
  readonly name: string;
  /** Type carrier only; never set at runtime. */
  readonly types?: (input: I) => O;
}

/** A registered orchestrator: its name, plus its input and output types for the compiler. */
export interface OrchestratorRef<I = unknown, O = unknown> {
  readonly kind: "orchestrator";
  readonly name: string;
  /** Type carrier only; never set at runtime. */
  readonly types?: (input: I) => O;
}

/** A registered entity: its name, plus its state type for the compiler. */
export interface EntityRef<S = unknown> {
  readonly kind: "entity";
  /** The registered name, as given. */
  readonly name: string;
  /** The ID of this entity type's entity with `key`. */
  id(key: string): EntityId;
  /** Type carrier only; never set at runtime. */
  readonly types?: (state: S) => S;
}

/** The name behind a name or a reference. */
export function refName(nameOrRef: string | { readonly name: string }): string {
  return typeof nameOrRef === "string" ? nameOrRef : nameOrRef.name;
}

/** Knows which names exist, when the caller's registry is complete. */
export interface NameRegistry {
  /** Sorted registered activity names. */
  activityNames(): readonly string[];
  /** Sorted registered orchestrator names. */
  orchestratorNames(): readonly string[];
  /** Sorted registered entity names (lower-cased, as entity IDs carry them). */
  entityNames(): readonly string[];
}

/** True when the text contains a C0 control character or DEL. */
function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Checks an instance ID: non-empty, at most 256 characters, no control characters.
 * Returns an error message or undefined.
 */
export function instanceIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return `instance ID must be a string, got ${typeof id}`;
  if (id.length === 0) return "instance ID must not be empty";
  if (id.length > 256) return `instance ID is ${id.length} characters long; the limit is 256`;
  if (hasControlChars(id)) return "instance ID must not contain control characters";
  return undefined;
}

/**
 * Checks the ID of an orchestration instance: a valid instance ID that does not begin with "@"
 * (reserved for entities). Returns an error message or undefined.
 */
export function orchestrationIdProblem(id: unknown): string | undefined {
  const problem = instanceIdProblem(id);
  if (problem) return problem;
  if ((id as string).startsWith("@")) {
    return `instance ID '${String(id)}' begins with '@', which is reserved for entity IDs`;
  }
  return undefined;
}

/** Checks a function or event name: a non-empty string of at most 256 characters. */
export function nameProblem(what: string, name: unknown): string | undefined {
  if (typeof name !== "string") return `${what} must be a string, got ${typeof name}`;
  if (name.trim().length === 0) return `${what} must not be empty`;
  if (name.length > 256) return `${what} is ${name.length} characters long; the limit is 256`;
  if (hasControlChars(name)) return `${what} must not contain control characters`;
  return undefined;
}

/**
 * Checks an orchestrator name: a valid name that does not begin with "@", which starts the names
 * of entity instance rows (so no orchestration can be mistaken for an entity). Returns an error
 * message or undefined.
 */
export function orchestratorNameProblem(name: unknown): string | undefined {
  const problem = nameProblem("orchestrator name", name);
  if (problem) return problem;
  if ((name as string).startsWith("@")) {
    return `orchestrator name '${String(name)}' begins with '@', which is reserved for entities`;
  }
  return undefined;
}
