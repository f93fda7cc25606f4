/**
 * Critical sections, from the orchestration's side: the lock it waits for or holds, the handle
 * that releases it, and the rules Durable Functions enforces inside one, which make critical
 * sections deadlock-free: no nesting, no sub-orchestrations, call only locked entities (one call
 * at a time each), signal only entities that are not locked. Pure bookkeeping; the context
 * records the actions.
 */
import { EntityId } from "./entity-id.js";
import { LockingRulesViolationError } from "./errors.js";
import { AtomicTask, type Task } from "./tasks.js";

/** The held lock of a critical section; `release()` ends it. */
export class LockHandle {
  private released = false;

  /** @internal */
  constructor(
    private readonly owner: CriticalSection,
    /** Identifies the critical section. */
    readonly criticalSectionId: string,
    /** The locked entities, in lock order. */
    readonly entities: readonly EntityId[],
  ) {}

  /** True once `release()` ran (or the orchestration ended). */
  get isReleased(): boolean {
    return this.released;
  }

  /** Releases every lock of the critical section; other callers' queued operations then run. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner.release(this.criticalSectionId);
  }
}

/** The task `ctx.lock(...)` returns: completes with the handle once every entity is locked. */
export class EntityLockTask extends AtomicTask<LockHandle> {
  /** @internal */
  constructor(
    id: number,
    /** Identifies the critical section. */
    readonly criticalSectionId: string,
    private readonly onGrant: () => LockHandle,
  ) {
    super(id);
  }

  /** The lock was granted: completes the task with a handle. @internal */
  grant(): void {
    if (!this.isCompleted) this.resolve(this.onGrant());
  }
}

/** A critical section that is requested or held. */
interface Section {
  id: string;
  lockSet: readonly string[];
  granted: boolean;
}

/** What `ctx.isLocked()` reports. */
export interface LockState {
  /** True while this orchestration holds a critical section. */
  isLocked: boolean;
  /** The entities it holds locks on (empty when not locked). */
  ownedLocks: EntityId[];
}

/** The orchestration's critical section, if any, and the checks made before each entity call. @internal */
export class CriticalSection {
  private section: Section | undefined;
  private readonly calling = new Set<string>();

  constructor(
    /** Records the release of one entity's lock (an UnlockEntity action). */
    private readonly unlock: (criticalSectionId: string, entityId: string) => void,
  ) {}

  /** The held lock: what must be released when the orchestration ends. */
  get held(): { criticalSectionId: string; lockSet: string[] } | undefined {
    const s = this.section;
    return s?.granted ? { criticalSectionId: s.id, lockSet: [...s.lockSet] } : undefined;
  }

  /** Throws unless a new critical section may begin (none is requested or held). */
  checkCanLock(): void {
    if (!this.section) return;
    throw new LockingRulesViolationError(
      this.section.granted
        ? "critical sections cannot be nested: this orchestration already holds a lock; release it first"
        : "this orchestration already requested a lock; wait for it (yield the lock task) and release it first",
    );
  }

  /** A lock request over `lockSet` was recorded. */
  begin(criticalSectionId: string, lockSet: readonly string[]): void {
    this.section = { id: criticalSectionId, lockSet, granted: false };
    this.calling.clear();
  }

  /** The lock request was granted: returns the handle. */
  grant(criticalSectionId: string): LockHandle {
    const s = this.section;
    if (s?.id === criticalSectionId) s.granted = true;
    const entities = (s?.lockSet ?? []).map((id) => EntityId.fromString(id));
    return new LockHandle(this, criticalSectionId, entities);
  }

  /** Throws unless `entityId` may be called now. */
  checkCall(entityId: string): void {
    const s = this.section;
    if (!s) return;
    if (!s.granted) {
      throw new LockingRulesViolationError(
        `cannot call entity '${entityId}' while a lock is being acquired: yield the lock task first`,
      );
    }
    if (!s.lockSet.includes(entityId)) {
      throw new LockingRulesViolationError(
        `inside a critical section an orchestration may call only the entities it locked; '${entityId}' is not ` +
          `one of ${s.lockSet.map((id) => `'${id}'`).join(", ")}`,
      );
    }
    if (this.calling.has(entityId)) {
      throw new LockingRulesViolationError(
        `inside a critical section each locked entity takes one call at a time; a call to '${entityId}' is still running`,
      );
    }
  }

  /** Tracks a call to a locked entity until it completes. */
  trackCall(entityId: string, task: Task<unknown>): void {
    if (!this.section?.granted) return;
    this.calling.add(entityId);
    task.addListener({ onChildDone: () => this.calling.delete(entityId) });
  }

  /** Throws unless `entityId` may be signalled now. */
  checkSignal(entityId: string): void {
    if (this.section?.lockSet.includes(entityId)) {
      throw new LockingRulesViolationError(
        `inside a critical section an orchestration must not signal entity '${entityId}', which it locks; call it instead`,
      );
    }
  }

  /** Throws when a sub-orchestration may not start (inside a critical section). */
  checkSubOrchestration(name: string): void {
    if (!this.section) return;
    throw new LockingRulesViolationError(
      `cannot start sub-orchestration '${name}' inside a critical section; release the lock first`,
    );
  }

  /** Releases the held section `criticalSectionId`: one UnlockEntity per locked entity. */
  release(criticalSectionId: string): void {
    const s = this.section;
    if (!s?.granted || s.id !== criticalSectionId) return;
    this.section = undefined;
    this.calling.clear();
    for (const entityId of s.lockSet) this.unlock(criticalSectionId, entityId);
  }

  /** What `ctx.isLocked()` reports. */
  state(): LockState {
    const s = this.section;
    if (!s?.granted) return { isLocked: false, ownedLocks: [] };
    return { isLocked: true, ownedLocks: s.lockSet.map((id) => EntityId.fromString(id)) };
  }
}
