/**
 * What runs and cycles produce, for whoever observes them (notifications,
 * commit statuses, metrics, the status page): pure types, below the cycle
 * that makes them and the observers that read them.
 * @module
 */
import type { GitError, StateLostError, SyncError } from "../errors.ts";
import type {
  RunOutcome,
  RunReason,
  StepName,
  Trigger,
} from "../state/types.ts";

/** Where the work tree was before and after a sync. */
export interface SyncResult {
  before: string;
  after: string;
  /** The commit fetched from the remote (equals `after` unless nothing moved). */
  upstream: string;
  /** `sync: reset` moved to a commit that does not descend from `before` (a force-push, a rewind). */
  rewound?: boolean;
}

/** How one service's run ended. */
export interface RunSummary {
  service: string;
  runId: number;
  outcome: Exclude<RunOutcome, "running">;
  reason: RunReason;
  failedStep?: StepName;
  error?: string;
}

/** The structured result of one cycle (or `deploy`). */
export interface CycleResult {
  trigger: Trigger;
  sync: SyncResult;
  runs: RunSummary[];
  /** Services reported removed in this cycle. */
  removed: string[];
  /** True when at least one service failed (exit code 1). */
  failed: boolean;
}

/** How one cycle ended, as observers (notifications, metrics, health) see it. */
export type CycleReport =
  & { trigger: Trigger; startedAt: number; finishedAt: number }
  & (
    | { kind: "completed"; result: CycleResult }
    /** Fetch or sync failed (docs/design.md#sync): nothing ran. */
    | { kind: "sync_failed"; error: SyncError | GitError }
  );

/** Something that wants to know about cycles; it must not throw and must not block. */
export interface CycleObserver {
  cycleStarted?(trigger: Trigger, at: number): void;
  cycleFinished?(report: CycleReport): void;
  /** The state file was removed or replaced under the agent, which stops (the error ends the command). */
  stateLost?(error: StateLostError): void;
  /** The state file cannot be written (docs/design.md#when-the-state-file-cannot-be-written). */
  stateUnwritable?(problem: string): void;
  /** The state file can be written again. */
  stateWritable?(): void;
}
