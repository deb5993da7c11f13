/** What to start: a shell script (platform shell) or an argv run without a shell. */
export type ProcessSpec =
  | { kind: "shell"; script: string }
  | { kind: "argv"; argv: readonly string[] };

/**
 * When the runner stops reading a command's output.
 * `eof`: only at end of output on every pipe; a command whose output is used
 * (git) must never be cut short. The timeout and abort signal still apply until then.
 * `{ boundedMs }`: at most this long after the command exited, because a
 * background child (a daemon a hook started) may hold the pipes for ever.
 */
export type DrainPolicy = "eof" | { boundedMs: number };

/** Options of {@link ProcessRunner.run}. */
export interface RunProcessOptions {
  cwd?: string;
  /** Environment added to (or, with `clearEnv`, replacing) the inherited one. */
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** Kill the process and its children after this many milliseconds. */
  timeoutMs?: number;
  /** Delay between the polite signal (SIGTERM) and SIGKILL when killing. Default 5000. */
  killGraceMs?: number;
  /** Aborting kills the process tree like a timeout does (result `interrupted`). */
  signal?: AbortSignal;
  /**
   * `collect`: keep stdout and stderr whole and apart (for git).
   * `tail`: combine stdout and stderr, keep only the last `tailBytes` (for hooks).
   */
  output: "collect" | "tail";
  /** Bytes kept in `tail` mode. Default 65536. */
  tailBytes?: number;
  /** Called with each complete line of combined output in `tail` mode (without newline). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Written to stdin, then stdin is closed; stdin is null otherwise. */
  stdin?: string;
  /** When reading output ends; default `eof`. */
  drain?: DrainPolicy;
  /** Called once the process started, with its pid (on Unix also its process group id). */
  onSpawn?: (pid: number) => void;
}

/** Result of a finished process; never thrown for a non-zero exit. */
export interface ProcessResult {
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  /** Signal name that ended it, if any. */
  signal: string | null;
  success: boolean;
  timedOut: boolean;
  /** Ended because `signal` was aborted. */
  interrupted: boolean;
  /** `collect` mode: whole stdout. `tail` mode: empty. */
  stdout: string;
  /** `collect` mode: whole stderr. `tail` mode: empty. */
  stderr: string;
  /** `tail` mode: last `tailBytes` of combined output. `collect` mode: empty. */
  output: string;
  /** `tail` mode: true when output was cut to the tail. */
  truncated: boolean;
  /** True when every pipe was read to its end; false when reading stopped early (bounded drain, kill). */
  outputComplete: boolean;
  durationMs: number;
}

/** The single way to spawn a process (git and hooks alike). */
export interface ProcessRunner {
  run(spec: ProcessSpec, options: RunProcessOptions): Promise<ProcessResult>;
}
