/**
 * The run stage: due services through the scheduler, each unless suspended,
 * and a rollback after a failed deploy that asks for one.
 * See docs/design.md#dependency-order and docs/design.md#running-a-service.
 * @module
 */
import { suspensionOf, suspensions } from "../state/suspensions.ts";
import type { CycleOptions } from "./cycle_types.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { rollbackTarget, runRollback } from "./rollback.ts";
import type { RunGate } from "./run_gate.ts";
import { runService } from "./run_service.ts";
import type { RunContext } from "./service_run.ts";
import { runScheduled, type ScheduledRun } from "./schedule.ts";
import type { ServiceActivity } from "./service_activity.ts";

/** What the run stage shares with the agent: the run context, the work tree gate and who is running. */
export interface RunDueDeps {
  context: RunContext;
  /** Runs share the work tree; a rollback has it alone. */
  gate: RunGate;
  /** One run of a service at a time. */
  activity: ServiceActivity;
}

/** Runs `scheduled` at `head` in dependency order; each rollback is listed right after the run it answers. */
export async function runDue(
  scheduled: readonly ScheduledRun[],
  head: string,
  options: CycleOptions,
  deps: RunDueDeps,
): Promise<RunSummary[]> {
  const { context, gate, activity } = deps;
  const { store, logger, now } = context;
  const config = context.config.current;
  const rolledBack = new Map<number, RunSummary>();
  const summaries = await runScheduled(scheduled, {
    head,
    trigger: options.trigger,
    stop: options.stop,
    signal: options.signal,
    parallel: config.parallel,
    historyLimit: config.historyLimit,
    store,
    logger,
    now,
    runService: async (run) => {
      const name = run.entry.name;
      // Read before every service: a `suspend` takes effect while the daemon runs.
      const suspension = suspensionOf(suspensions(store), name);
      if (suspension && !options.force) {
        logger.info("not running: suspended", { service: name });
        return undefined;
      }
      const summary = await gate.shared(() =>
        activity.run(name, () =>
          runService(run.entry, {
            head,
            reason: run.reason,
            deployedCommit: run.deployedCommit,
            trigger: options.trigger,
            signal: options.signal,
          }, context))
      );
      const target = rollbackTarget(summary, {
        config: run.entry.config,
        deployedCommit: run.deployedCommit,
        head,
      });
      if (target && !options.signal?.aborted) {
        const revision = store.run(summary.runId)?.revision ?? head;
        rolledBack.set(
          summary.runId,
          await gate.exclusive(() =>
            activity.run(name, () =>
              runRollback({
                entry: run.entry,
                failedCommit: head,
                failedRunId: summary.runId,
                revision,
                deployedCommit: target,
              }, { ...context, signal: options.signal }))
          ),
        );
      }
      return summary;
    },
  });
  return summaries.flatMap((summary) => {
    const rollback = rolledBack.get(summary.runId);
    return rollback ? [summary, rollback] : [summary];
  });
}
