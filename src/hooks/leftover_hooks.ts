import type { Logger } from "../log/logging.ts";
import {
  isSameProcessGroup,
  killProcessGroup,
  processGroupExists,
} from "../process/run_process.ts";
import type { InterruptedRun } from "../state/types.ts";

/** Grace between SIGTERM and SIGKILL for a hook left running by a crashed agent. */
export const LEFTOVER_KILL_GRACE_MS = 5000;
/** How long to wait for a SIGKILLed group to be gone (an init that reaps slowly keeps zombies). */
const GONE_WAIT_MS = 2000;

/**
 * Stops the hook commands that outlived a crashed agent (`kill -9`, OOM), so
 * that the interrupted service runs again cleanly and never twice at once.
 * Each interrupted run's recorded process group that still exists, and whose
 * leader is still the process that was started, gets SIGTERM and then SIGKILL
 * after the grace period.
 */
export async function stopLeftoverHooks(
  runs: readonly InterruptedRun[],
  logger: Logger,
  options: { graceMs?: number } = {},
): Promise<void> {
  if (Deno.build.os === "windows") return;
  const graceMs = options.graceMs ?? LEFTOVER_KILL_GRACE_MS;
  for (const run of runs) {
    const group = run.processGroup;
    if (group === null || !processGroupExists(group.pgid)) continue;
    if (!isSameProcessGroup(group.pgid, group.startTime)) {
      logger.info(
        "run {runId} of {service}: process group {pgid} now belongs to another process; left alone",
        { runId: run.id, service: run.service, pgid: group.pgid },
      );
      continue;
    }
    logger.warn(
      "run {runId} of {service}: its hook command (process group {pgid}) outlived the agent; stopping it (SIGTERM, SIGKILL after {seconds} s) before the service runs again",
      {
        runId: run.id,
        service: run.service,
        pgid: group.pgid,
        seconds: graceMs / 1000,
      },
    );
    await killProcessGroup(group.pgid, graceMs);
    const deadline = performance.now() + GONE_WAIT_MS;
    while (processGroupExists(group.pgid) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
