import { writeAll } from "./write_all.ts";
import { escapeControl } from "./escape.ts";
import {
  configureSync,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";

export type { Logger };

/** Log output formats of `--log-format`. */
export type LogFormat = "text" | "json";
/** Log levels of `--log-level`. */
export type CliLogLevel = "debug" | "info" | "warn" | "error";

/** Options of {@link configureLogging}. */
export interface LoggingOptions {
  format: LogFormat;
  level: CliLogLevel;
  color: boolean;
  /** Where formatted lines go; standard error by default so stdout stays machine-readable. */
  write?: (line: string) => void;
}

const LEVELS: Record<CliLogLevel, LogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

const ROOT_CATEGORY = "upstream-watch";

/** The agent's logger; services and runs add their fields with `.with({ service, runId })`. */
export function agentLogger(): Logger {
  return getLogger([ROOT_CATEGORY]);
}

/** Sends the agent's log records to standard error as text or JSON lines. */
export function configureLogging(options: LoggingOptions): void {
  const encoder = new TextEncoder();
  const write = options.write ??
    ((line: string) => writeAll(Deno.stderr, encoder.encode(line)));
  const format = options.format === "json"
    ? formatJsonLine
    : (record: LogRecord) => formatTextLine(record, options.color);
  configureSync({
    reset: true,
    sinks: { stderr: (record: LogRecord) => write(format(record)) },
    loggers: [
      {
        category: [ROOT_CATEGORY],
        lowestLevel: LEVELS[options.level],
        sinks: ["stderr"],
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
}

/** Undoes {@link configureLogging} (tests). */
export function resetLogging(): void {
  resetSync();
}

/** The message with its placeholders filled in. */
export function renderMessage(record: LogRecord): string {
  return record.message.map((part) =>
    typeof part === "string" ? part : stringify(part)
  ).join("");
}

function stringify(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const TEXT_LEVEL: Record<LogLevel, string> = {
  trace: "TRC",
  debug: "DBG",
  info: "INF",
  warning: "WRN",
  error: "ERR",
  fatal: "FTL",
};

const COLOR: Partial<Record<LogLevel, string>> = {
  debug: "\x1b[2m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[31m",
};

/** `2026-11-26T15:20:00.123Z INF [api] message` */
export function formatTextLine(record: LogRecord, color: boolean): string {
  const service = record.properties.service;
  const prefix = typeof service === "string" ? `[${service}] ` : "";
  const level = TEXT_LEVEL[record.level];
  const time = new Date(record.timestamp).toISOString();
  // A name or hook line holding a newline or an escape sequence must not
  // forge a log line or drive the operator's terminal.
  const line = `${time} ${level} ${
    escapeControl(`${prefix}${renderMessage(record)}`)
  }`;
  const start = color ? COLOR[record.level] : undefined;
  return start ? `${start}${line}\x1b[0m\n` : `${line}\n`;
}

/** One JSON object per line for log shippers: time, level, message, then the record's fields. */
export function formatJsonLine(record: LogRecord): string {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record.properties)) {
    fields[key] = value instanceof Error ? value.message : value;
  }
  return JSON.stringify({
    time: new Date(record.timestamp).toISOString(),
    level: LEVELS_OUT[record.level],
    message: renderMessage(record),
    ...fields,
  }) + "\n";
}

const LEVELS_OUT: Record<LogLevel, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warning: "warn",
  error: "error",
  fatal: "fatal",
};
