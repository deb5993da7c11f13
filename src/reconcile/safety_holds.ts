/** Holds of deploy safety: an operator's suspension and a revision held after its rollback. */
import type { SafetyHold } from "../results/holds.ts";
import { rollbackHolds, type RollbackRecord } from "../state/rollbacks.ts";
import { type Suspension, suspensionOf } from "../state/suspensions.ts";

/** The hold a suspension or a rollback puts on a due service, if any (a suspension first). */
export function safetyHold(
  service: string,
  options: {
    suspensions: ReadonlyMap<string, Suspension>;
    rollback?: RollbackRecord;
    revision?: string;
    deployedCommit: string | null;
  },
): SafetyHold | undefined {
  const suspension = suspensionOf(options.suspensions, service);
  if (suspension) {
    return {
      kind: "suspended",
      scope: suspension.service,
      reason: suspension.reason,
      suspendedAt: suspension.suspendedAt,
    };
  }
  if (
    options.revision !== undefined && options.rollback &&
    rollbackHolds(options.rollback, {
      revision: options.revision,
      deployedCommit: options.deployedCommit,
    })
  ) {
    return {
      kind: "rolled_back",
      revision: options.revision,
      failedCommit: options.rollback.failedCommit,
      deployedCommit: options.rollback.deployedCommit,
      rollbackRunId: options.rollback.runId,
    };
  }
  return undefined;
}
