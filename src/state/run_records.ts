/** The `runs` and `run_commands` tables: every run of a service, its commands and their output. */
import type { StateStore } from "./store.ts";
import { ensureServiceRow } from "./service_records.ts";
import {
  assertCommitId,
  nullableString,
  type Row,
  toCommandRecord,
  toRunRecord,
} from "./state_rows.ts";
import { storedText } from "./text_value.ts";
import type {
  CommandRecord,
  FinishRunInput,
  InterruptedRun,
  ProcessGroupRecord,
  RunReason,
  RunRecord,
  StartRunInput,
} from "./types.ts";

/** The part of the store these functions write through. */
type Store = Pick<StateStore, "statement" | "transaction">;

/** Runs recorded as `running`, with their process groups: at start-up, what a stopped agent left. */
export function runsLeftRunning(store: Store): InterruptedRun[] {
  return (store.statement(
    "SELECT * FROM runs WHERE outcome = 'running' ORDER BY id",
  ).all() as Row[]).map((row) => ({
    ...toRunRecord(row),
    processGroup: row.pgid === null || row.pgid === undefined ? null : {
      pgid: Number(row.pgid),
      startTime: nullableString(row.pgid_started),
    },
  }));
}

/** Marks runs left `running` by a crashed agent as `interrupted`; returns them. */
export function markInterruptedRuns(
  store: Store,
  now: number,
): InterruptedRun[] {
  const running = runsLeftRunning(store);
  if (running.length === 0) return [];
  store.transaction(() => {
    for (const run of running) {
      store.statement(
        "UPDATE runs SET outcome = 'interrupted', finished_at = ?, error = ?, pgid = NULL, pgid_started = NULL WHERE id = ?",
      ).run(now, "the agent stopped while this run was in progress", run.id);
      store.statement(
        "UPDATE services SET last_outcome = 'interrupted' WHERE name = ? AND last_run_id = ?",
      ).run(run.service, run.id);
    }
  });
  return running;
}

/**
 * Writes a run as `running` before its first command; returns its id.
 * `alongside` writes what the run's kind records with it, in the same transaction.
 */
export function startRun(
  store: Store,
  input: StartRunInput,
  alongside?: (runId: number) => void,
): number {
  assertCommitId(input.toCommit);
  return store.transaction(() => {
    const { lastInsertRowid } = store.statement(
      `INSERT INTO runs (service, trigger, from_commit, to_commit, revision, attempt, started_at, outcome, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
    ).run(
      input.service,
      input.trigger,
      input.fromCommit,
      input.toCommit,
      input.revision ?? null,
      input.attempt ?? 1,
      input.startedAt,
      JSON.stringify(input.reason),
    );
    const runId = Number(lastInsertRowid);
    ensureServiceRow(store, input.service);
    store.statement(
      "UPDATE services SET last_run_id = ?, last_outcome = 'running', last_run_at = ?, removed_at = NULL WHERE name = ?",
    ).run(runId, input.startedAt, input.service);
    alongside?.(runId);
    return runId;
  });
}

/** Replaces a running run's reason (its "why" commits arrive after it started). */
export function recordRunReason(
  store: Store,
  runId: number,
  reason: RunReason,
): void {
  store.transaction(() => {
    store.statement("UPDATE runs SET reason = ? WHERE id = ?").run(
      JSON.stringify(reason),
      runId,
    );
  });
}

/** Remembers the process group of the run's command that just started (cleared by {@link recordCommand}). */
export function recordProcessGroup(
  store: Store,
  runId: number,
  group: ProcessGroupRecord,
): void {
  store.transaction(() => {
    store.statement("UPDATE runs SET pgid = ?, pgid_started = ? WHERE id = ?")
      .run(group.pgid, group.startTime, runId);
  });
}

/** Stores one finished command of a run with the tail of its output, and forgets its process group. */
export function recordCommand(
  store: Store,
  runId: number,
  command: CommandRecord,
): void {
  store.transaction(() => {
    store.statement(
      "UPDATE runs SET pgid = NULL, pgid_started = NULL WHERE id = ?",
    ).run(runId);
    store.statement(
      `INSERT INTO run_commands (run_id, seq, step, command, started_at, finished_at, exit_code, timed_out, output, truncated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      command.seq,
      command.step,
      storedText(command.command),
      command.startedAt,
      command.finishedAt,
      command.exitCode,
      command.timedOut ? 1 : 0,
      storedText(command.output),
      command.truncated ? 1 : 0,
    );
  });
}

/**
 * Finishes a run, updates its service and prunes old history, in one
 * transaction; `alongside` writes what the run's kind records with its end.
 */
export function finishRun(
  store: Store,
  runId: number,
  input: FinishRunInput,
  alongside?: () => void,
): void {
  store.transaction(() => {
    const run = store.statement("SELECT * FROM runs WHERE id = ?").get(
      runId,
    ) as
      | Row
      | undefined;
    if (!run) throw new Error(`run ${runId} does not exist`);
    const record = toRunRecord(run);
    store.statement(
      "UPDATE runs SET outcome = ?, finished_at = ?, failed_step = ?, error = ? WHERE id = ?",
    ).run(
      input.outcome,
      input.finishedAt,
      input.failedStep ?? null,
      input.error === undefined || input.error === null
        ? null
        : storedText(input.error),
      runId,
    );
    store.statement(
      "UPDATE services SET last_outcome = ?, last_run_at = ? WHERE name = ? AND last_run_id = ?",
    ).run(input.outcome, input.finishedAt, record.service, runId);
    if (input.outcome === "succeeded" && input.recordsDeployment !== false) {
      store.statement(
        `UPDATE services SET deployed_commit = ?, deployed_at = ?, failed_attempts = 0,
           failed_revision = NULL, last_failure_at = NULL WHERE name = ?`,
      ).run(record.toCommit, input.finishedAt, record.service);
    } else if (input.outcome === "failed") {
      store.statement(
        `UPDATE services SET
           failed_attempts = CASE WHEN failed_revision IS ? THEN failed_attempts + 1 ELSE 1 END,
           failed_revision = ?, last_failure_at = ? WHERE name = ?`,
      ).run(
        record.revision,
        record.revision,
        input.finishedAt,
        record.service,
      );
    }
    if (input.historyLimit !== undefined) {
      pruneRuns(store, record.service, input.historyLimit);
    }
    alongside?.();
  });
}

/** Deletes all but the newest `keep` runs of `service`, with their commands. */
function pruneRuns(store: Store, service: string, keep: number): void {
  const cutoff = store.statement(
    "SELECT id FROM runs WHERE service = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
  ).get(service, keep) as { id: number } | undefined;
  if (!cutoff) return;
  store.statement(
    "DELETE FROM run_commands WHERE run_id IN (SELECT id FROM runs WHERE service = ? AND id <= ?)",
  ).run(service, cutoff.id);
  store.statement("DELETE FROM runs WHERE service = ? AND id <= ?").run(
    service,
    cutoff.id,
  );
}

/** Past runs, newest first, optionally of one service. */
export function listRuns(
  store: Store,
  options: { service?: string; limit: number },
): RunRecord[] {
  const rows = options.service === undefined
    ? store.statement("SELECT * FROM runs ORDER BY id DESC LIMIT ?").all(
      options.limit,
    )
    : store.statement(
      "SELECT * FROM runs WHERE service = ? ORDER BY id DESC LIMIT ?",
    ).all(options.service, options.limit);
  return (rows as Row[]).map(toRunRecord);
}

/** One run by id, if it exists. */
export function findRun(store: Store, runId: number): RunRecord | undefined {
  const row = store.statement("SELECT * FROM runs WHERE id = ?").get(runId) as
    | Row
    | undefined;
  return row ? toRunRecord(row) : undefined;
}

/** Every service's last run, by run id, in one query (a status lists them all). */
export function lastRuns(store: Store): Map<number, RunRecord> {
  const rows = store.statement(
    "SELECT runs.* FROM services JOIN runs ON runs.id = services.last_run_id",
  ).all() as Row[];
  return new Map(rows.map((row) => [Number(row.id), toRunRecord(row)]));
}

/** The commands of one run in the order they ran, with their output. */
export function runCommands(store: Store, runId: number): CommandRecord[] {
  const rows = store.statement(
    "SELECT * FROM run_commands WHERE run_id = ? ORDER BY seq",
  ).all(runId) as Row[];
  return rows.map(toCommandRecord);
}
