/**
 * Rewind: rewrites a Failed execution's history so that replay runs the failed steps again.
 * The history is cut at the first failed task (activity, sub-orchestration or entity call);
 * scheduled work that had not finished by then is forgotten (replay schedules it again with the
 * same sequence numbers), and external events that arrived later are kept so none is lost. A
 * critical section still open at the cut was released when the instance failed, so the cut moves
 * before its lock request: the rewound run locks again, and what it did inside runs again.
 */
import type { HistoryEvent } from "./events.js";

function isFailure(event: HistoryEvent): boolean {
  return (
    event.kind === "TaskFailed" ||
    event.kind === "SubOrchestrationInstanceFailed" ||
    event.kind === "EntityOperationFailed"
  );
}

/** Sequence numbers and entity request IDs of the work that completed among `events`. */
function completed(events: readonly HistoryEvent[]): { ids: Set<number>; requests: Set<string> } {
  const ids = new Set<number>();
  const requests = new Set<string>();
  for (const e of events) {
    if (e.kind === "TaskCompleted" || e.kind === "SubOrchestrationInstanceCompleted")
      ids.add(e.taskScheduledId);
    else if (e.kind === "TimerFired") ids.add(e.timerId);
    else if (e.kind === "EntityOperationCompleted") requests.add(e.requestId);
  }
  return { ids, requests };
}

/** The index of the lock request of a critical section not released before `cut`, if any. */
function openSectionStart(history: readonly HistoryEvent[], cut: number): number | undefined {
  let open: { index: number; id: string } | undefined;
  for (let i = 0; i < cut; i++) {
    const e = history[i]!;
    if (e.kind === "EntityLockRequested") open = { index: i, id: e.criticalSectionId };
    else if (e.kind === "EntityUnlockSent" && e.criticalSectionId === open?.id) open = undefined;
  }
  return open?.index;
}

/** The history a rewound instance replays from. Pure. */
export function rewindHistory(history: readonly HistoryEvent[]): HistoryEvent[] {
  let cut = history.findIndex(isFailure);
  if (cut < 0) cut = history.findIndex((e) => e.kind === "ExecutionCompleted");
  if (cut < 0) cut = history.length;
  cut = openSectionStart(history, cut) ?? cut;
  const kept = history.slice(0, cut);
  const done = completed(kept);
  const result = kept.filter((e) => {
    switch (e.kind) {
      case "TaskScheduled":
      case "TimerCreated":
      case "SubOrchestrationInstanceCreated":
        return done.ids.has(e.eventId);
      case "EntityOperationCalled":
        return done.requests.has(e.requestId);
      case "ExecutionCompleted":
        return false;
      default:
        return true;
    }
  });
  for (const e of history.slice(cut)) if (e.kind === "EventRaised") result.push(e);
  return result;
}
