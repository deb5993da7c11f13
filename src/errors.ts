/** Exit codes (docs/design.md#exit-codes), decided only by the top level. */
export const ExitCode = {
  ok: 0,
  updateFailed: 1,
  usage: 2,
  syncFailed: 3,
  locked: 4,
} as const;

/** A value of {@link ExitCode}. */
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

/** Base of every expected (non-bug) error; carries the exit code the CLI uses. */
export class UpstreamWatchError extends Error {
  /** Exit code the process ends with when this error reaches the top level. */
  readonly exitCode: ExitCodeValue;
  constructor(
    message: string,
    options: { exitCode: ExitCodeValue; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
  }
}

/** Wrong command-line usage (unknown option, bad value). Exit 2. */
export class UsageError extends UpstreamWatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.usage, cause: options.cause });
  }
}

/** Where in a configuration file a problem sits. */
export interface ConfigLocation {
  /** Path of the file as shown to the operator (repo-relative when possible). */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** Dotted key path, e.g. `notify[0].url`, when known. */
  key?: string;
}

/** Formats a location as `file:line:column (key)` for one-line messages. */
export function formatLocation(location: ConfigLocation): string {
  let text = location.file;
  if (location.line !== undefined) {
    text += `:${location.line}`;
    if (location.column !== undefined) text += `:${location.column}`;
  }
  if (location.key !== undefined) text += ` (${location.key})`;
  return text;
}

/** Invalid configuration: names file, line and key. Exit 2. */
export class ConfigError extends UpstreamWatchError {
  readonly location: ConfigLocation;
  /** The problem without the location prefix. */
  readonly reason: string;
  constructor(
    reason: string,
    location: ConfigLocation,
    options: { cause?: unknown } = {},
  ) {
    super(`${formatLocation(location)}: ${reason}`, {
      exitCode: ExitCode.usage,
      cause: options.cause,
    });
    this.location = location;
    this.reason = reason;
  }
}

/** A git command failed. `exitCode` is git's own; the error's exit code is 3 by default. */
export class GitError extends UpstreamWatchError {
  readonly args: readonly string[];
  readonly gitExitCode: number | null;
  readonly stderr: string;
  constructor(
    message: string,
    options: {
      args: readonly string[];
      gitExitCode: number | null;
      stderr: string;
      exitCode?: ExitCodeValue;
      cause?: unknown;
    },
  ) {
    super(message, {
      exitCode: options.exitCode ?? ExitCode.syncFailed,
      cause: options.cause,
    });
    this.args = options.args;
    this.gitExitCode = options.gitExitCode;
    this.stderr = options.stderr;
  }
}

/** The repository could not be brought to the upstream commit (diverged, dirty, fetch failed). Exit 3. */
export class SyncError extends UpstreamWatchError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.syncFailed, cause: options.cause });
  }
}

/** The state database cannot be opened, read or migrated. Exit 2. */
export class StateError extends UpstreamWatchError {
  readonly file: string;
  constructor(message: string, options: { file: string; cause?: unknown }) {
    super(message, { exitCode: ExitCode.usage, cause: options.cause });
    this.file = options.file;
  }
}

/** The state file was removed, emptied or replaced (at start, or under a running agent). Exit 2. */
export class StateLostError extends StateError {}

/**
 * A write to the state file failed after SQLite's bounded wait for a lock
 * (locked by another process, disk full, read-only or immutable file). The
 * daemon stops deploying until a write succeeds again; other commands exit 2.
 */
export class StateWriteError extends StateError {}

/** The message of anything thrown: an Error's own message, anything else as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
