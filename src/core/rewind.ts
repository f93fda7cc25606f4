/**
 * Rewind: rewrites a Failed execution's history so that replay runs the failed steps again.
 * The history is cut at the first failed task; scheduled work that had not finished by then is
 * forgotten (replay schedules it again with the same sequence numbers), and external events that
 * arrived later are kept so none is lost.
 */
import type { HistoryEvent } from "./events.js";

function completedIds(events: readonly HistoryEvent[]): Set<number> {
  const ids = new Set<number>();
  for (const e of events) {
    if (e.kind === "TaskCompleted" || e.kind === "SubOrchestrationInstanceCompleted")
      ids.add(e.taskScheduledId);
    else if (e.kind === "TimerFired") ids.add(e.timerId);
  }
  return ids;
}

/** The history a rewound instance replays from. Pure. */
export function rewindHistory(history: readonly HistoryEvent[]): HistoryEvent[] {
  let cut = history.findIndex((e) => e.kind === "TaskFailed" || e.kind === "SubOrchestrationInstanceFailed");
  if (cut < 0) cut = history.findIndex((e) => e.kind === "ExecutionCompleted");
  if (cut < 0) cut = history.length;
  const kept = history.slice(0, cut);
  const done = completedIds(kept);
  const result = kept.filter((e) => {
    switch (e.kind) {
      case "TaskScheduled":
      case "TimerCreated":
      case "SubOrchestrationInstanceCreated":
        return done.has(e.eventId);
      case "ExecutionCompleted":
        return false;
      default:
        return true;
    }
  });
  for (const e of history.slice(cut)) if (e.kind === "EventRaised") result.push(e);
  return result;
}
