/**
 * Monitor: poll an external job until it finishes, or give up at a deadline.
 *
 * This is the "async HTTP API" polling loop written as an eternal orchestration. Each
 * execution checks the job once, publishes progress with `setCustomStatus`, sleeps on a
 * durable timer (no process sits waiting; the timer lives in the store), then calls
 * `continueAsNew` to start over with fresh history. History therefore stays small no matter
 * how long the job runs, and the counters the loop needs travel in the new input.
 */
import type { ActivityRef, OrchestratorRef, TaskHub } from "refrain";

/** Input of the monitor orchestrator. */
export interface MonitorInput {
  /** The job to watch. */
  jobId: string;
  /** Simulation only: the fake job service reports the job finished on this check. */
  simulatedChecksUntilDone: number;
  /** Pause between two checks (default 1 000 ms). */
  pollIntervalMs?: number;
  /** Give up this long after the first check (default 60 000 ms). */
  timeoutMs?: number;
  /** Set by the orchestrator when it continues as new: checks made so far. Omit when starting. */
  checksDone?: number;
  /** Set by the orchestrator when it continues as new: the ISO deadline. Omit when starting. */
  expiresAt?: string;
}

/** What the job service reports about a job. */
export interface JobStatus {
  state: "Running" | "Succeeded";
  percentComplete: number;
}

/** Input of the job status activity. */
export interface JobStatusQuery {
  jobId: string;
  /** Simulation only: which check this is (1-based). */
  check: number;
  /** Simulation only: the check on which the job reports success. */
  simulatedChecksUntilDone: number;
}

/** The custom status the monitor publishes after every check. */
export interface MonitorProgress {
  checks: number;
  jobState: JobStatus["state"];
  percentComplete: number;
}

/** Result of the monitor orchestrator. */
export interface MonitorResult {
  jobId: string;
  outcome: "Succeeded" | "TimedOut";
  /** How many times the job was checked (one check per execution). */
  checks: number;
}

/** The functions this example registers. */
export interface MonitorExample {
  /** Activity: asks the (simulated) job service how the job is doing. */
  getJobStatus: ActivityRef<JobStatusQuery, JobStatus>;
  /** Orchestrator: the eternal polling loop. */
  monitorJob: OrchestratorRef<MonitorInput, MonitorResult | undefined>;
}

/**
 * A stand-in for a remote job service: the job makes even progress and succeeds on check
 * `simulatedChecksUntilDone`. A real activity would make an HTTP request here instead.
 */
function simulatedJobStatus(query: JobStatusQuery): JobStatus {
  const { check, simulatedChecksUntilDone } = query;
  if (check >= simulatedChecksUntilDone) return { state: "Succeeded", percentComplete: 100 };
  return { state: "Running", percentComplete: Math.floor((100 * check) / simulatedChecksUntilDone) };
}

/** Registers the monitor example on `hub`. */
export function register(hub: TaskHub): MonitorExample {
  const getJobStatus = hub.activity("GetJobStatus", async (query: JobStatusQuery) =>
    simulatedJobStatus(query),
  );

  const monitorJob = hub.orchestrator<MonitorInput, MonitorResult | undefined>("MonitorJob", function* (ctx) {
    const input = ctx.input;
    const pollIntervalMs = input.pollIntervalMs ?? 1_000;
    // Read time only from the context: `currentUtcDateTime` is recorded, so replays see the
    // same value. The deadline is computed once, by the first execution, and then carried along.
    const startedAt = ctx.currentUtcDateTime;
    const expiresAt =
      input.expiresAt ?? new Date(startedAt.getTime() + (input.timeoutMs ?? 60_000)).toISOString();
    const checks = (input.checksDone ?? 0) + 1;

    const status = yield* ctx.callActivity(getJobStatus, {
      jobId: input.jobId,
      check: checks,
      simulatedChecksUntilDone: input.simulatedChecksUntilDone,
    });
    const progress: MonitorProgress = {
      checks,
      jobState: status.state,
      percentComplete: status.percentComplete,
    };
    ctx.setCustomStatus(progress);

    if (status.state === "Succeeded") {
      ctx.log.info(`job ${input.jobId} succeeded after ${checks} checks`);
      return { jobId: input.jobId, outcome: "Succeeded", checks };
    }
    const nextCheck = new Date(ctx.currentUtcDateTime.getTime() + pollIntervalMs);
    if (nextCheck.getTime() > Date.parse(expiresAt)) {
      return { jobId: input.jobId, outcome: "TimedOut", checks };
    }

    // Sleep durably, then start over as a fresh execution carrying the loop state.
    yield* ctx.createTimer(nextCheck);
    ctx.continueAsNew({ ...input, checksDone: checks, expiresAt });
    return undefined;
  });

  return { getJobStatus, monitorJob };
}
