import { GitError, SyncError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import type { Agent } from "./agent.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Seconds between cycles; the repository's `retry_interval` when undefined. */
  intervalSeconds?: number;
  /** Aborted: finish the current cycle, then return. */
  stop: AbortSignal;
  /** Aborted: kill the running command too (the grace period is over). */
  kill: AbortSignal;
  logger: Logger;
}

/** The poll loop: one cycle per interval until `stop` is aborted; sync failures are logged and retried. */
export async function runDaemon(
  agent: Agent,
  options: DaemonOptions,
): Promise<void> {
  const { logger } = options;
  while (!options.stop.aborted) {
    try {
      await agent.runCycle({ trigger: "poll", signal: options.kill });
    } catch (error) {
      if (!(error instanceof SyncError || error instanceof GitError)) {
        throw error;
      }
      logger.error("sync failed: {error}; retrying next interval", {
        error: error.message,
      });
    }
    const seconds = options.intervalSeconds ?? agent.config.retryInterval;
    await sleep(seconds * 1000, options.stop);
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
