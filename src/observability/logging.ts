/**
 * Engine loggers: the built-in structured logger (human-readable lines on a terminal, JSON lines
 * otherwise) and an adapter for pino-compatible loggers. Settings come from the environment:
 * `REFRAIN_LOG_LEVEL` (debug, info, warn, error or silent; default warn) and `REFRAIN_LOG_FORMAT`
 * (json or pretty; default pretty when stderr is a TTY, json otherwise).
 */
import type { EngineLogger } from "../dispatch/runtime.js";

/** Severity of an engine log line, plus `silent` to turn logging off. */
export type EngineLogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** How the built-in logger renders a line. */
export type EngineLogFormat = "json" | "pretty";

const RANK: Record<EngineLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Options of `createLogger`; each falls back to the environment, then to the default. */
export interface CreateLoggerOptions {
  /** Lowest level written (default: `REFRAIN_LOG_LEVEL`, else "warn"). */
  level?: EngineLogLevel;
  /** Rendering (default: `REFRAIN_LOG_FORMAT`, else "pretty" on a TTY and "json" otherwise). */
  format?: EngineLogFormat;
  /** Where finished lines go, without their newline (default: stderr). */
  write?: (line: string) => void;
  /** Clock for the `time` field (default: `new Date()`). */
  now?: () => Date;
}

/** Parses a level name; unknown names give undefined. */
export function parseLogLevel(value: string | undefined): EngineLogLevel | undefined {
  const level = value?.trim().toLowerCase();
  return level !== undefined && level in RANK ? (level as EngineLogLevel) : undefined;
}

function envFormat(): EngineLogFormat {
  const value = process.env.REFRAIN_LOG_FORMAT?.trim().toLowerCase();
  if (value === "json" || value === "pretty") return value;
  return process.stderr.isTTY ? "pretty" : "json";
}

/** Renders a field value for a pretty line: strings bare unless they contain spaces. */
function prettyValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON line: `{"time","level","msg",...fields}`, pino's field names. */
export function formatJsonLine(time: Date, level: string, message: string, fields: object): string {
  return JSON.stringify({ time: time.toISOString(), level, msg: message, ...fields }, (_key, value) =>
    value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
  );
}

/** One human-readable line: `HH:MM:SS.mmm LEVEL message key=value ...`. */
export function formatPrettyLine(time: Date, level: string, message: string, fields: object): string {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${prettyValue(value)}`);
  const clock = time.toISOString().slice(11, 23);
  return [clock, level.toUpperCase().padEnd(5), `refrain: ${message}`, ...pairs].join(" ");
}

/** The built-in engine logger. */
export function createLogger(options: CreateLoggerOptions = {}): EngineLogger {
  const threshold = RANK[options.level ?? parseLogLevel(process.env.REFRAIN_LOG_LEVEL) ?? "warn"];
  const render = (options.format ?? envFormat()) === "json" ? formatJsonLine : formatPrettyLine;
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const at =
    (level: Exclude<EngineLogLevel, "silent">) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (RANK[level] < threshold) return;
      write(render(now(), level, message, fields ?? {}));
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    isLevelEnabled: (level) => RANK[level] >= threshold,
  };
}

/** One level of a pino-compatible logger: `(fields, message)`. */
export type PinoLogFn = (fields: Record<string, unknown>, message: string) => void;

/** The part of a pino (or pino-compatible: bunyan, a child logger…) logger the engine uses. */
export interface PinoLike {
  debug: PinoLogFn;
  info: PinoLogFn;
  warn: PinoLogFn;
  error: PinoLogFn;
  /** pino's level check, used to skip building dropped lines when present. */
  isLevelEnabled?(level: string): boolean;
}

/** Adapts a pino-compatible logger: `hub({ logger: fromPino(pino()) })`; level filtering stays pino's. */
export function fromPino(logger: PinoLike): EngineLogger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    isLevelEnabled: (level) => logger.isLevelEnabled?.(level) ?? true,
  };
}
