/** Turning rows of the state tables into the records the rest of the agent reads. */
import type { SQLInputValue } from "node:sqlite";
import { isCommitId, normalizeCommitId } from "../git/commit_id.ts";
import { readNullableStoredText, readStoredText } from "./text_value.ts";
import type { CommandRecord, RunRecord, ServiceRecord } from "./types.ts";

/** One row as `node:sqlite` returns it. */
export type Row = Record<string, SQLInputValue>;

/** A `services` row as a {@link ServiceRecord}. */
export function toServiceRecord(row: Row): ServiceRecord {
  const recorded = nullableString(row.deployed_commit);
  // Written by hand, by an older build or by another tool: read leniently, never pass on a non-id.
  const deployedCommit = recorded === null
    ? null
    : normalizeCommitId(recorded) ?? null;
  return {
    name: String(row.name),
    deployedCommit,
    ...(recorded !== null && deployedCommit === null
      ? { invalidDeployedCommit: recorded }
      : {}),
    deployedAt: nullableNumber(row.deployed_at),
    lastRunId: nullableNumber(row.last_run_id),
    lastOutcome: nullableString(row.last_outcome) as ServiceRecord[
      "lastOutcome"
    ],
    lastRunAt: nullableNumber(row.last_run_at),
    failedAttempts: Number(row.failed_attempts),
    failedRevision: nullableString(row.failed_revision),
    lastFailureAt: nullableNumber(row.last_failure_at),
    removedAt: nullableNumber(row.removed_at),
  };
}

/** A `runs` row as a {@link RunRecord}. */
export function toRunRecord(row: Row): RunRecord {
  return {
    id: Number(row.id),
    service: String(row.service),
    trigger: String(row.trigger) as RunRecord["trigger"],
    fromCommit: nullableString(row.from_commit),
    toCommit: String(row.to_commit),
    revision: nullableString(row.revision),
    attempt: Number(row.attempt),
    startedAt: Number(row.started_at),
    finishedAt: nullableNumber(row.finished_at),
    outcome: String(row.outcome) as RunRecord["outcome"],
    failedStep: nullableString(row.failed_step) as RunRecord["failedStep"],
    error: readNullableStoredText(row.error),
    reason: JSON.parse(String(row.reason)),
  };
}

/** A `run_commands` row as a {@link CommandRecord}. */
export function toCommandRecord(row: Row): CommandRecord {
  return {
    seq: Number(row.seq),
    step: String(row.step) as CommandRecord["step"],
    command: readStoredText(row.command),
    startedAt: Number(row.started_at),
    finishedAt: Number(row.finished_at),
    exitCode: row.exit_code === null ? null : Number(row.exit_code),
    timedOut: Number(row.timed_out) === 1,
    output: readStoredText(row.output),
    truncated: Number(row.truncated) === 1,
  };
}

/** A nullable text column. */
export function nullableString(
  value: SQLInputValue | undefined,
): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** A nullable integer column. */
export function nullableNumber(
  value: SQLInputValue | undefined,
): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** A commit id written into the state must be one; anything else is a bug upstream of the store. */
export function assertCommitId(commit: string): void {
  if (!isCommitId(commit)) {
    throw new Error(`not a commit id: ${JSON.stringify(commit)}`);
  }
}
