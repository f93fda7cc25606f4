/**
 * Testing tools, exported as `refrain/testing`: build histories by hand and replay recorded
 * histories against orchestrator code, with no store and no workers.
 */
export type { FailureLike, HistoryBuilderOptions } from "./history.js";
export { DEFAULT_HISTORY_START, failureOf, HistoryBuilder, inboxMessages } from "./history.js";
export type { ReplayOutcome } from "./replay.js";
export { replayHistory } from "./replay.js";
