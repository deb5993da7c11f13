/**
 * The `health` step: every health command must pass; a failing one is tried
 * again every interval until the step's deadline, then the step fails.
 * @module
 */
import type { HookCommand, ServiceConfig } from "../config/types.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessResult, ProcessRunner } from "../process/types.ts";
import { displayCommand, runHookProcess } from "./hook_process.ts";

/** Seconds the health step may take when `health_timeout` is not set. */
export const DEFAULT_HEALTH_TIMEOUT_S = 60;
/** Seconds between attempts when `health_interval` is not set. */
export const DEFAULT_HEALTH_INTERVAL_S = 2;
/** Output kept of a self-heal check (only logged at debug level, never stored). */
const CHECK_TAIL_BYTES = 4096;

/** A service's health settings with defaults applied. */
export interface HealthSettings {
  commands: readonly HookCommand[];
  timeoutMs: number;
  intervalMs: number;
}

/** The service's health settings, or undefined when it has no health commands. */
export function healthSettings(
  config: ServiceConfig,
): HealthSettings | undefined {
  const commands = config.healthCommands ?? [];
  if (commands.length === 0) return undefined;
  return {
    commands,
    timeoutMs: (config.healthTimeout ?? DEFAULT_HEALTH_TIMEOUT_S) * 1000,
    intervalMs: (config.healthInterval ?? DEFAULT_HEALTH_INTERVAL_S) * 1000,
  };
}

/** Runs one attempt of a health command with at most `timeoutMs`. */
export type HealthAttempt = (
  command: HookCommand,
  timeoutMs: number,
) => Promise<ProcessResult>;

/** How the health step ended. */
export type HealthOutcome =
  | { kind: "passed"; attempts: number }
  | {
    kind: "failed";
    command: string;
    exitCode: number | null;
    timedOut: boolean;
    attempts: number;
    message: string;
  }
  | { kind: "interrupted"; command: string };

/** Runs the health commands in order, each retried until it passes or the step's deadline passes. */
export async function runHealthStep(
  settings: HealthSettings,
  options: {
    attempt: HealthAttempt;
    now: () => number;
    /** Per-command limit (the service's `timeout`); the deadline may cut it shorter. */
    commandTimeoutMs: number;
    signal?: AbortSignal;
  },
): Promise<HealthOutcome> {
  const deadline = options.now() + settings.timeoutMs;
  let attempts = 0;
  for (const command of settings.commands) {
    const shown = displayCommand(command);
    while (true) {
      const remaining = deadline - options.now();
      const result = await options.attempt(
        command,
        Math.max(1, Math.min(options.commandTimeoutMs, remaining)),
      );
      attempts++;
      if (result.interrupted) return { kind: "interrupted", command: shown };
      if (result.success) break;
      const left = deadline - options.now();
      if (left <= settings.intervalMs || options.signal?.aborted) {
        if (options.signal?.aborted) {
          return { kind: "interrupted", command: shown };
        }
        return {
          kind: "failed",
          command: shown,
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          attempts,
          message: `health check did not pass within ${
            settings.timeoutMs / 1000
          } s (${attempts} attempt${attempts === 1 ? "" : "s"}, last ${
            result.timedOut
              ? "timed out"
              : `exit ${result.exitCode ?? result.signal}`
          }): ${shown}`,
        };
      }
      if (!await sleep(settings.intervalMs, options.signal)) {
        return { kind: "interrupted", command: shown };
      }
    }
  }
  return { kind: "passed", attempts };
}

/** Options of {@link checkHealth}. */
export interface CheckHealthInput {
  service: string;
  cwd: string;
  config: ServiceConfig;
  env: Record<string, string>;
  /** Variables of the agent's own configuration (its secrets), kept from the command unless the service's `env` names them. */
  withheldEnv: readonly string[];
  commandTimeoutMs: number;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  signal?: AbortSignal;
}

/** One self-heal check: the health step outside a run, its output logged at debug level only. */
export function checkHealth(input: CheckHealthInput): Promise<HealthOutcome> {
  const settings = healthSettings(input.config);
  if (!settings) return Promise.resolve({ kind: "passed", attempts: 0 });
  const log = input.logger.with({ service: input.service, step: "health" });
  return runHealthStep(settings, {
    now: input.now,
    commandTimeoutMs: input.commandTimeoutMs,
    signal: input.signal,
    // The same process options as the health step of a run: a check ends
    // when its command exits or its deadline passes, whatever it left behind.
    attempt: (command, timeoutMs) =>
      runHookProcess(input.runner, {
        step: "health",
        command,
        cwd: input.cwd,
        serviceEnv: input.config.env,
        agentEnv: input.env,
        withheldEnv: input.withheldEnv,
        timeoutMs,
        signal: input.signal,
        tailBytes: CHECK_TAIL_BYTES,
        onLine: (line) => log.debug("check | {line}", { line }),
      }),
  });
}

/** Waits `ms`; false when `signal` was aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (finished: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(finished);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
