/** The `services` table: what is deployed where, and which removed services were reported. */
import type { StateStore } from "./store.ts";
import { assertCommitId, type Row, toServiceRecord } from "./state_rows.ts";
import type { ServiceRecord } from "./types.ts";

/** The part of the store these functions write through. */
type Store = Pick<StateStore, "statement" | "transaction">;

/** Adds a row for `service` unless it has one (call inside a transaction). */
export function ensureServiceRow(store: Store, service: string): void {
  store.statement("INSERT OR IGNORE INTO services (name) VALUES (?)").run(
    service,
  );
}

/** Every service row, by name, read from the table (the store caches this). */
export function readServices(store: Store): Map<string, ServiceRecord> {
  const rows = store.statement("SELECT * FROM services ORDER BY name")
    .all() as Row[];
  return new Map(rows.map((row) => [String(row.name), toServiceRecord(row)]));
}

/** Records services as deployed at `commit` without a run (for `adopt`). */
export function setDeployed(
  store: Store,
  services: readonly string[],
  commit: string,
  now: number,
): void {
  assertCommitId(commit);
  store.transaction(() => {
    for (const service of services) {
      ensureServiceRow(store, service);
      store.statement(
        `UPDATE services SET deployed_commit = ?, deployed_at = ?, failed_attempts = 0,
           failed_revision = NULL, last_failure_at = NULL, removed_at = NULL WHERE name = ?`,
      ).run(commit, now, service);
    }
  });
}

/** Records the Go tool's deployments (service → commit, chosen by the caller). */
export function importLegacyDeployments(
  store: Store,
  imported: ReadonlyMap<string, string>,
  now: number,
): void {
  for (const commit of imported.values()) assertCommitId(commit);
  store.transaction(() => {
    for (const [service, commit] of imported) {
      ensureServiceRow(store, service);
      store.statement(
        "UPDATE services SET deployed_commit = ?, deployed_at = ? WHERE name = ?",
      ).run(commit, now, service);
    }
  });
}

/** Remembers that a removed service was reported, so it is reported once. */
export function markRemoved(store: Store, service: string, now: number): void {
  store.transaction(() => {
    store.statement("UPDATE services SET removed_at = ? WHERE name = ?").run(
      now,
      service,
    );
  });
}
