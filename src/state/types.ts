/** What started a run. */
export type Trigger = "poll" | "webhook" | "manual" | "rollback" | "heal";

/** How a run ended (`running` while in progress). */
export type RunOutcome =
  | "running"
  | "succeeded"
  | "failed"
  | "interrupted"
  | "skipped";

/** A step of a service update. */
export type StepName =
  | "config"
  | "decrypt"
  | "pre"
  | "update"
  | "post"
  | "health"
  | "on_failure"
  | "on_remove";

/** Why a service is due: the planner decides it, the state records it with the run. */
export type DueReason =
  | { kind: "first_deploy" }
  | { kind: "changed"; paths: string[]; totalPaths: number }
  | { kind: "history_rewritten"; deployedCommit: string }
  | { kind: "interrupted" };

/** Why a run happened, stored with it and shown by `plan`, `history` and notifications. */
export type RunReason =
  | DueReason & {
    /** Commits between the deployed commit and the target that touched the service (newest first). */
    commits?: { commit: string; subject: string }[];
  }
  | { kind: "manual" }
  | { kind: "removed"; deployedCommit: string }
  | {
    kind: "rollback";
    failedCommit: string;
    failedRunId: number;
    /** An operator's `rollback`: the commit rolled back to becomes the deployed one. */
    requested?: boolean;
  }
  | { kind: "heal"; error: string };

/** One service as the state database remembers it. */
export interface ServiceRecord {
  name: string;
  deployedCommit: string | null;
  /** What the file holds instead of a commit id, when it holds something else (the service counts as never deployed). */
  invalidDeployedCommit?: string;
  deployedAt: number | null;
  lastRunId: number | null;
  lastOutcome: RunOutcome | null;
  lastRunAt: number | null;
  /** Failed attempts at `failedRevision`. */
  failedAttempts: number;
  failedRevision: string | null;
  lastFailureAt: number | null;
  removedAt: number | null;
}

/** One run of a service's steps. Times are epoch milliseconds. */
export interface RunRecord {
  id: number;
  service: string;
  trigger: Trigger;
  fromCommit: string | null;
  toCommit: string;
  /** Newest commit touching the service at `toCommit` (attempts are counted per revision). */
  revision: string | null;
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  outcome: RunOutcome;
  failedStep: StepName | null;
  error: string | null;
  reason: RunReason;
}

/** Input of {@link StateStore.startRun}. */
export interface StartRunInput {
  service: string;
  trigger: Trigger;
  fromCommit: string | null;
  toCommit: string;
  revision?: string | null;
  attempt?: number;
  startedAt: number;
  reason: RunReason;
}

/** Input of {@link StateStore.finishRun}. */
export interface FinishRunInput {
  outcome: Exclude<RunOutcome, "running">;
  finishedAt: number;
  failedStep?: StepName | null;
  error?: string | null;
  /** Runs kept for the service; older ones are pruned in the same transaction. */
  historyLimit?: number;
  /** Whether success records the run's target as the service's deployed commit (default true). */
  recordsDeployment?: boolean;
}

/** One command of a run with the tail of its combined output. */
export interface CommandRecord {
  seq: number;
  step: StepName;
  /** The command as the operator wrote it (a list is shown JSON-encoded). */
  command: string;
  startedAt: number;
  finishedAt: number;
  exitCode: number | null;
  timedOut: boolean;
  output: string;
  truncated: boolean;
}

/** The process group of a hook command while it runs (Unix). */
export interface ProcessGroupRecord {
  pgid: number;
  /** Start time of the group's leader (see `processStartTime`), null where unknown. */
  startTime: string | null;
}

/** A run found `running` at start, with the process group its command had, if one was running. */
export interface InterruptedRun extends RunRecord {
  processGroup: ProcessGroupRecord | null;
}
