/**
 * The `ctx.log` lines of orchestration steps, held back until their step commits. A step that is
 * run again (its commit failed, or it was computed ahead and the store refused it) then writes its
 * lines once, like every other effect of a step, and never for a step that did not happen.
 */
import type { LogLevel, LogSink } from "../core/context.js";

/** One held `ctx.log` line. */
interface LogLine {
  level: LogLevel;
  instanceId: string;
  args: unknown[];
}

/** Holds the lines of the step being run, for `flush` after its commit. */
export class StepLogs {
  private buffer: LogLine[] | undefined;

  constructor(private readonly sink: LogSink) {}

  /** The sink executors write to: held while a step is captured, passed through otherwise. */
  readonly write: LogSink = (level, instanceId, args) => {
    if (this.buffer) this.buffer.push({ level, instanceId, args });
    else this.sink(level, instanceId, args);
  };

  /** Runs one (synchronous) step and returns its result with the lines it logged. */
  capture<T>(step: () => T): { result: T; lines: LogLine[] } {
    const lines: LogLine[] = [];
    this.buffer = lines;
    try {
      return { result: step(), lines };
    } finally {
      this.buffer = undefined;
    }
  }

  /** Writes the lines of a step that committed. */
  flush(lines: readonly LogLine[]): void {
    for (const { level, instanceId, args } of lines) this.sink(level, instanceId, args);
  }
}
