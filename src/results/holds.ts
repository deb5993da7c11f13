/**
 * Why an out-of-date service does not run now: the holds a plan puts on a
 * service, as the plan, the documents and the status page show them.
 * @module
 */

/** A hold of the retry policy: backing off, or out of attempts at this revision. */
export type RetryHold =
  | { kind: "backoff"; attempts: number; nextAttemptAt: number }
  | { kind: "exhausted"; attempts: number; revision: string };

/** Why a service waits because of a suspension or a rollback. */
export type SafetyHold =
  | {
    kind: "suspended";
    /** The suspension's service, or `*` for the whole agent. */
    scope: string;
    reason: string | null;
    suspendedAt: number;
  }
  | {
    kind: "rolled_back";
    revision: string;
    /** The commit whose deploy failed and was rolled back. */
    failedCommit: string;
    deployedCommit: string;
    rollbackRunId: number | null;
  };

/** Why an out-of-date service does not run in this cycle. */
export type Hold =
  | RetryHold
  | SafetyHold
  | { kind: "dependency"; dependency: string };
