/** What the state file keeps about signed-commit verification: the settings once in effect, and when each commit was first checked. */
import type { StateStore } from "./store.ts";

/** Verification settings as recorded (the verify layer gives them their types). */
export interface RecordedVerification {
  kind: string;
  path: string;
  mode: string;
  source: string;
  /** Epoch milliseconds. */
  recordedAt: number;
}

/** How many first-check times are kept; older ones belong to commits long deployed or abandoned. */
const KEPT_FIRST_CHECKS = 5000;

/** The recorded settings, or undefined when verification was never on (or the operator reset it). */
export function recordedVerification(
  store: Pick<StateStore, "statement">,
): RecordedVerification | undefined {
  const row = store.statement(
    "SELECT kind, path, mode, source, recorded_at FROM verification_settings WHERE id = 1",
  ).get() as
    | {
      kind: string;
      path: string;
      mode: string;
      source: string;
      recorded_at: number;
    }
    | undefined;
  return row
    ? {
      kind: String(row.kind),
      path: String(row.path),
      mode: String(row.mode),
      source: String(row.source),
      recordedAt: Number(row.recorded_at),
    }
    : undefined;
}

/** Records the settings in effect (replacing the previous ones). */
export function recordVerification(
  store: Pick<StateStore, "statement">,
  settings: RecordedVerification,
): void {
  store.statement(
    `INSERT INTO verification_settings (id, kind, path, mode, source, recorded_at)
     VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, path = excluded.path,
       mode = excluded.mode, source = excluded.source, recorded_at = excluded.recorded_at`,
  ).run(
    settings.kind,
    settings.path,
    settings.mode,
    settings.source,
    settings.recordedAt,
  );
}

/** Forgets the recorded settings (the operator's `verify-reset`); returns what was recorded. */
export function forgetVerification(
  store: StateStore,
): RecordedVerification | undefined {
  return store.transaction(() => {
    const recorded = recordedVerification(store);
    store.statement("DELETE FROM verification_settings").run();
    return recorded;
  });
}

/** When each of `commits` was first checked, for those checked before. */
export function firstCheckTimes(
  store: Pick<StateStore, "statement">,
  commits: readonly string[],
): Map<string, number> {
  const times = new Map<string, number>();
  const select = store.statement(
    "SELECT first_checked_at FROM verified_commits WHERE commit_id = ?",
  );
  for (const commit of commits) {
    const row = select.get(commit) as { first_checked_at: number } | undefined;
    if (row) times.set(commit, Number(row.first_checked_at));
  }
  return times;
}

/** Records the first-check time of commits seen for the first time; keeps the newest {@link KEPT_FIRST_CHECKS}. */
export function recordFirstChecks(
  store: StateStore,
  times: ReadonlyMap<string, number>,
): void {
  if (times.size === 0) return;
  store.transaction(() => {
    const insert = store.statement(
      "INSERT OR IGNORE INTO verified_commits (commit_id, first_checked_at) VALUES (?, ?)",
    );
    for (const [commit, at] of times) insert.run(commit, at);
    store.statement(
      `DELETE FROM verified_commits WHERE commit_id NOT IN (
         SELECT commit_id FROM verified_commits ORDER BY first_checked_at DESC LIMIT ?)`,
    ).run(KEPT_FIRST_CHECKS);
  });
}
