/** Each service's last rollback: what it holds back, and a marker that lets a crash mid-rollback be repaired. */
import type { StateStore } from "./store.ts";

/** Where a rollback is: its work tree holds the old files (`running`), or it ended. */
export type RollbackState = "running" | "succeeded" | "failed";

/** A service's last rollback as stored. */
export interface RollbackRecord {
  service: string;
  /** The service revision that failed and is not retried automatically. */
  heldRevision: string;
  /** The commit whose deploy failed. */
  failedCommit: string;
  failedRunId: number;
  /** The commit rolled back to (the service's deployed commit). */
  deployedCommit: string;
  /** Repo-relative files set to the deployed commit (tracked at HEAD or at that commit). */
  paths: string[];
  /** Files only the deployed commit has, created by the rollback: deleted again when HEAD is restored. */
  created: string[];
  /** The rollback's own run. */
  runId: number | null;
  state: RollbackState;
  startedAt: number;
  finishedAt: number | null;
}

type Row = Record<string, string | number | null>;

function toRecord(row: Row): RollbackRecord {
  return {
    service: String(row.service),
    heldRevision: String(row.held_revision),
    failedCommit: String(row.failed_commit),
    failedRunId: Number(row.failed_run_id),
    deployedCommit: String(row.deployed_commit),
    ...JSON.parse(String(row.paths)) as { paths: string[]; created: string[] },
    runId: row.run_id === null ? null : Number(row.run_id),
    state: String(row.state) as RollbackState,
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

/** Every service's last rollback, by service. */
export function rollbacks(store: StateStore): Map<string, RollbackRecord> {
  const rows = store.statement("SELECT * FROM rollbacks ORDER BY service")
    .all() as Row[];
  return new Map(rows.map((row) => [String(row.service), toRecord(row)]));
}

/** Records a rollback as `running` (call inside the transaction that starts its run). */
export function markRollbackStarted(
  store: StateStore,
  record: Omit<RollbackRecord, "state" | "finishedAt">,
): void {
  store.transaction(() => {
    store.statement(
      `INSERT INTO rollbacks (service, held_revision, failed_commit, failed_run_id, deployed_commit, paths, run_id, state, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, NULL)
       ON CONFLICT (service) DO UPDATE SET held_revision = excluded.held_revision,
         failed_commit = excluded.failed_commit, failed_run_id = excluded.failed_run_id,
         deployed_commit = excluded.deployed_commit, paths = excluded.paths, run_id = excluded.run_id,
         state = 'running', started_at = excluded.started_at, finished_at = NULL`,
    ).run(
      record.service,
      record.heldRevision,
      record.failedCommit,
      record.failedRunId,
      record.deployedCommit,
      JSON.stringify({ paths: record.paths, created: record.created }),
      record.runId,
      record.startedAt,
    );
  });
}

/** Records how a rollback ended (after its folder was restored to HEAD). */
export function markRollbackFinished(
  store: StateStore,
  service: string,
  options: { state: Exclude<RollbackState, "running">; now: number },
): void {
  store.transaction(() => {
    store.statement(
      "UPDATE rollbacks SET state = ?, finished_at = ? WHERE service = ?",
    ).run(options.state, options.now, service);
  });
}

/**
 * Whether the service's current revision is held after a rollback: it is the
 * revision that failed, and nothing was deployed since (a `deploy` or a new
 * revision that succeeded ends the hold).
 */
export function rollbackHolds(
  rollback: RollbackRecord | undefined,
  service: { revision: string; deployedCommit: string | null },
): boolean {
  return rollback !== undefined &&
    rollback.heldRevision === service.revision &&
    rollback.deployedCommit === service.deployedCommit;
}
