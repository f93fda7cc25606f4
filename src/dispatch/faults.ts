/**
 * Named fault points for crash tests. Inert unless the process was started with
 * `REFRAIN_FAULT_POINTS` naming them (comma-separated), in which case reaching one kills the
 * process with SIGKILL with probability `REFRAIN_FAULT_PROBABILITY` (default 1): a crash at
 * exactly that step, with nothing flushed, as a power cut would do it. With
 * `REFRAIN_FAULT_ACTION=pause` it freezes the process with SIGSTOP instead (a stalled VM or a
 * long GC pause), until someone sends SIGCONT: the way to prove a worker that wakes up after
 * losing its leases commits nothing.
 */

/** The fault points the engine passes through. */
export type FaultPointName =
  | "orchestration:before-commit"
  | "orchestration:after-commit"
  | "activity:before-run"
  | "activity:before-complete"
  | "activity:after-complete"
  | "entity:before-commit"
  | "entity:after-commit";

const armed = new Set(
  (process.env.REFRAIN_FAULT_POINTS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const probability = Number(process.env.REFRAIN_FAULT_PROBABILITY ?? "1");
const signal = process.env.REFRAIN_FAULT_ACTION === "pause" ? "SIGSTOP" : "SIGKILL";

/** Crashes (or freezes) the process here when this point is armed (tests only); otherwise does nothing. */
export function faultPoint(name: FaultPointName): void {
  if (armed.size === 0 || !armed.has(name)) return;
  if (Math.random() < probability) process.kill(process.pid, signal);
}
