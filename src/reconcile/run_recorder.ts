/**
 * What every run of a service shares, whether it deploys, rolls back or
 * removes: the `UPSTREAM_WATCH_*` variables its hooks see, how its end is
 * recorded, and who is told when it starts and ends.
 * @module
 */
import type { StepsOutcome } from "../hooks/run_steps.ts";
import type { StateStore } from "../state/store.ts";
import type { RunReason, Trigger } from "../state/types.ts";
import type { RunSummary } from "./cycle_types.ts";
import type { RunListener, StartedRun } from "./run_listener.ts";

/** What a {@link RunRecorder} writes to and reads from. */
export interface RunRecorderDeps {
  store: StateStore;
  now: () => number;
  /** Absolute work tree root, given to hooks as `UPSTREAM_WATCH_REPO`. */
  repoRoot: string;
  /** Runs kept per service; read at each finish, so a reloaded configuration applies. */
  historyLimit: () => number;
  /** Told when each run starts and ends (commit statuses). */
  listeners?: readonly RunListener[];
}

/** Gives every run the same environment and records every run's end the same way. */
export class RunRecorder {
  readonly #deps: RunRecorderDeps;

  constructor(deps: RunRecorderDeps) {
    this.#deps = deps;
  }

  /** The `UPSTREAM_WATCH_*` variables of a run; they win over the service's own `env`. */
  env(
    service: string,
    commit: string,
    previous: string | null,
    run: { trigger: Trigger; runId: number },
  ): Record<string, string> {
    return {
      UPSTREAM_WATCH_SERVICE: service,
      UPSTREAM_WATCH_COMMIT: commit,
      UPSTREAM_WATCH_PREVIOUS_COMMIT: previous ?? "",
      UPSTREAM_WATCH_REPO: this.#deps.repoRoot,
      UPSTREAM_WATCH_TRIGGER: run.trigger,
      UPSTREAM_WATCH_RUN_ID: String(run.runId),
    };
  }

  /** Tells the listeners a recorded run has started. */
  started(run: StartedRun): void {
    for (const listener of this.#deps.listeners ?? []) {
      listener.runStarted(run);
    }
  }

  /** Tells the listeners how a run ended. */
  finished(run: StartedRun, summary: RunSummary): void {
    for (const listener of this.#deps.listeners ?? []) {
      listener.runFinished({ ...run, summary });
    }
  }

  /** Records how a run ended; `removed` and `rollback` runs leave the deployed commit as it was. */
  finish(
    runId: number,
    service: string,
    reason: RunReason,
    outcome: StepsOutcome,
  ): RunSummary {
    const finished = outcome.kind === "succeeded"
      ? { outcome: "succeeded" as const }
      : outcome.kind === "interrupted"
      ? {
        outcome: "interrupted" as const,
        failedStep: outcome.step,
        error: `interrupted during ${outcome.step}: ${outcome.command}`,
      }
      : {
        outcome: "failed" as const,
        failedStep: outcome.step,
        error: outcome.message,
      };
    this.#deps.store.finishRun(runId, {
      ...finished,
      finishedAt: this.#deps.now(),
      historyLimit: this.#deps.historyLimit(),
      // A removed service's on_remove run must keep its last deployed commit.
      recordsDeployment: reason.kind !== "removed" &&
        (reason.kind !== "rollback" || reason.requested === true),
    });
    return { service, runId, reason, ...finished };
  }
}
