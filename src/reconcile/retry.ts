/** Retry policy: backoff per failed attempt at the same service revision (docs/design.md#attempts-and-holds). */

import type { RetryHold } from "../results/holds.ts";

/** Longest delay between attempts, whatever `retry_backoff` and the attempt count. */
export const MAX_BACKOFF_MS = 60 * 60 * 1000;

/** The failure history the policy looks at. */
export interface FailureRecord {
  failedAttempts: number;
  failedRevision: string | null;
  lastFailureAt: number | null;
}

/** Delay after `attempts` failures: `backoff`, doubling per attempt, capped at one hour. */
export function backoffDelayMs(
  attempts: number,
  backoffSeconds: number,
): number {
  const delay = backoffSeconds * 1000 * 2 ** Math.max(0, attempts - 1);
  return Math.min(delay, MAX_BACKOFF_MS);
}

/** Whether a failing service may run now at `revision`; undefined means it may. */
export function retryHold(
  record: FailureRecord | undefined,
  options: {
    revision: string;
    now: number;
    maxAttempts: number;
    backoffSeconds: number;
  },
): RetryHold | undefined {
  if (!record || record.failedAttempts === 0) return undefined;
  // A new revision of the service starts again at attempt 1.
  if (record.failedRevision !== options.revision) return undefined;
  if (record.failedAttempts >= options.maxAttempts) {
    return {
      kind: "exhausted",
      attempts: record.failedAttempts,
      revision: options.revision,
    };
  }
  const nextAttemptAt = (record.lastFailureAt ?? 0) +
    backoffDelayMs(record.failedAttempts, options.backoffSeconds);
  if (options.now < nextAttemptAt) {
    return { kind: "backoff", attempts: record.failedAttempts, nextAttemptAt };
  }
  return undefined;
}
