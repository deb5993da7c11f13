/**
 * Which rows of the `services` table this connection changed since it last
 * asked: temporary triggers (they live in the connection's own temp schema,
 * never in the state file, and fire for its writes only) note each name.
 * A writer's cached services then re-read those rows, not the whole table,
 * after each of its own commits: at 10,000 services the whole table is
 * 20 ms of the cycle after every run.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { type Row, toServiceRecord } from "./state_rows.ts";
import type { StateStore } from "./store.ts";
import type { ServiceRecord } from "./types.ts";

/** Starts noting this connection's writes to `services` (call once, after migrating). */
export function noteServiceRowChanges(db: DatabaseSync): void {
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS changed_services (name TEXT PRIMARY KEY);
    CREATE TEMP TRIGGER IF NOT EXISTS changed_services_insert
      AFTER INSERT ON main.services
      BEGIN INSERT OR IGNORE INTO changed_services VALUES (new.name); END;
    CREATE TEMP TRIGGER IF NOT EXISTS changed_services_update
      AFTER UPDATE ON main.services
      BEGIN
        INSERT OR IGNORE INTO changed_services VALUES (old.name);
        INSERT OR IGNORE INTO changed_services VALUES (new.name);
      END;
    CREATE TEMP TRIGGER IF NOT EXISTS changed_services_delete
      AFTER DELETE ON main.services
      BEGIN INSERT OR IGNORE INTO changed_services VALUES (old.name); END;
  `);
}

/** The part of the store these functions read through. */
type Store = Pick<StateStore, "statement">;

/** Forgets the noted names (after the whole table was read). */
export function clearServiceRowChanges(store: Store): void {
  store.statement("DELETE FROM temp.changed_services").run();
}

/**
 * `cached` with the rows this connection changed since read again; undefined
 * when a row was added or removed (the caller reads the whole table, which
 * keeps the services in name order).
 */
export function refreshChangedServices(
  store: Store,
  cached: ReadonlyMap<string, ServiceRecord>,
): Map<string, ServiceRecord> | undefined {
  const names = (store.statement("SELECT name FROM temp.changed_services")
    .all() as { name: string }[]).map((row) => String(row.name));
  clearServiceRowChanges(store);
  const services = new Map(cached);
  const read = store.statement("SELECT * FROM services WHERE name = ?");
  for (const name of names) {
    const row = read.get(name) as Row | undefined;
    if (!row || !cached.has(name)) return undefined;
    services.set(name, toServiceRecord(row));
  }
  return services;
}
