import type { Logger } from "../log/logging.ts";
import { RUN_MARKER_VARIABLE, UNRECORDED_RUN } from "../process/run_marker.ts";
import {
  ancestorPids,
  findMarkedProcesses,
  type MarkedProcess,
  processGroupOf,
} from "../process/process_group.ts";
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

/** Options of {@link stopLeftoverHooks}. */
export interface LeftoverHookOptions {
  graceMs?: number;
  /** The state file's id: processes carrying its marker for an interrupted run (or outside any run) are stopped too. */
  stateId?: string;
}

/**
 * Stops the hook commands that outlived a crashed agent (`kill -9`, OOM), so
 * that the interrupted service runs again cleanly and never twice at once.
 * Two ways find them, so that neither a group recorded too late nor one never
 * recorded escapes: each interrupted run's recorded process group that still
 * exists (and whose leader is still the process that was started), and every
 * process whose environment carries this state file's mark with the id of
 * an interrupted run or of no run (a self-heal check). Each group gets
 * SIGTERM, then SIGKILL after the grace period.
 */
export async function stopLeftoverHooks(
  runs: readonly InterruptedRun[],
  logger: Logger,
  options: LeftoverHookOptions = {},
): Promise<void> {
  if (Deno.build.os === "windows") return;
  const graceMs = options.graceMs ?? LEFTOVER_KILL_GRACE_MS;
  const groups = new Map<number, string>();
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
    groups.set(group.pgid, `run ${run.id}`);
  }
  if (options.stateId !== undefined) {
    for (const found of markedLeftovers(options.stateId, runs)) {
      if (groups.has(found.pgid)) continue;
      const service = runs.find((run) => String(run.id) === found.run)
        ?.service;
      logger.warn(
        "process {pid} (process group {pgid}) of {what} outlived the agent; stopping its group (SIGTERM, SIGKILL after {seconds} s) before anything runs",
        {
          pid: found.pid,
          pgid: found.pgid,
          what: found.run === UNRECORDED_RUN
            ? "a health check"
            : `run ${found.run} of ${service}`,
          seconds: graceMs / 1000,
        },
      );
      groups.set(found.pgid, found.run);
    }
  }
  // All at once: the grace period is waited out once, not once per group.
  await Promise.all(
    [...groups.keys()].map((pgid) => stopGroup(pgid, graceMs)),
  );
}

/** Marked processes of interrupted runs and of no run, never the agent's own group or its ancestors. */
function markedLeftovers(
  stateId: string,
  runs: readonly InterruptedRun[],
): MarkedProcess[] {
  const interrupted = new Set(runs.map((run) => String(run.id)));
  const ownGroup = processGroupOf("self");
  const ancestors = ancestorPids();
  return findMarkedProcesses(RUN_MARKER_VARIABLE, stateId).filter((found) =>
    found.pgid > 1 && found.pgid !== ownGroup &&
    !ancestors.has(found.pid) &&
    (found.run === UNRECORDED_RUN || interrupted.has(found.run))
  );
}

async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  await killProcessGroup(pgid, graceMs);
  const deadline = performance.now() + GONE_WAIT_MS;
  while (processGroupExists(pgid) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
