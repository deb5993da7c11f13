/** The JSON forms of runs, commands and refused commits, shared by every document. */
import type { CommandRecord, RunRecord } from "../state/types.ts";
import {
  describeRejection,
  type Rejection,
} from "../verify/verification_error.ts";
import type { CommandJson, RejectionJson, RunJson } from "./documents.ts";
import { isoTime } from "./time_text.ts";

/** The stable JSON form of a run, shared by `status`, `history` and `logs`. */
export function runJson(run: RunRecord): RunJson {
  return {
    id: run.id,
    service: run.service,
    trigger: run.trigger,
    outcome: run.outcome,
    fromCommit: run.fromCommit,
    toCommit: run.toCommit,
    revision: run.revision,
    attempt: run.attempt,
    startedAt: isoTime(run.startedAt),
    finishedAt: isoTime(run.finishedAt),
    durationMs: run.finishedAt === null ? null : run.finishedAt - run.startedAt,
    failedStep: run.failedStep,
    error: run.error,
    reason: run.reason,
  };
}

/** A refused commit as `status`, `plan` and `/api/status` show it. */
export function rejectionJson(
  rejection: Rejection | undefined,
): RejectionJson | null {
  if (!rejection) return null;
  return {
    commit: rejection.commit,
    signer: rejection.signer,
    signed: rejection.signer !== null,
    reason: rejection.reason,
    message: describeRejection(rejection),
  };
}

/** One command of the logs document. */
export function commandJson(command: CommandRecord): CommandJson {
  return {
    ...command,
    startedAt: isoTime(command.startedAt),
    finishedAt: isoTime(command.finishedAt),
  };
}
