/** Who wants to know when a service's run starts and ends (commit status reporting). */
import type { Trigger } from "../state/types.ts";
import type { RunSummary } from "./cycle_result.ts";

/** A run that has just been recorded as started. */
export interface StartedRun {
  service: string;
  runId: number;
  /** The commit the run deploys. */
  commit: string;
  trigger: Trigger;
}

/** Told about each run; must return at once and never throw. */
export interface RunListener {
  runStarted(run: StartedRun): void;
  runFinished(run: StartedRun & { summary: RunSummary }): void;
}
