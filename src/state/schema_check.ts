/**
 * Checking an opened state file against this build's schema, and migrating
 * it: a newer schema is refused, a missing table is named, older versions are
 * brought up to date one migration at a time.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { StateError } from "../errors.ts";
import { MIGRATIONS, REQUIRED_TABLES, SCHEMA_VERSION } from "./schema.ts";

/** The file's `PRAGMA user_version` (0 for a new file). */
export function userVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as
    | { user_version: number }
    | undefined;
  return row?.user_version ?? 0;
}

/** Refuses a file written by a newer build. */
export function checkVersion(db: DatabaseSync, file: string): void {
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new StateError(
      `state file ${file} has schema version ${version}, newer than this build understands (${SCHEMA_VERSION}); upgrade upstream-watch`,
      { file },
    );
  }
}

/** A table dropped by hand or by a damaged file would otherwise fail the first query with a stack trace. */
export function checkTables(db: DatabaseSync, file: string): void {
  const present = new Set(
    (db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table'",
    ).all() as { name: string }[]).map((row) => row.name),
  );
  const missing = REQUIRED_TABLES.filter((table) => !present.has(table));
  if (missing.length > 0) {
    throw new StateError(
      `state file ${file} is missing table${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      } (schema version ${
        userVersion(db)
      }); restore it from a backup, or move it away to start with an empty state`,
      { file },
    );
  }
}

/** Brings the file to this build's schema, each migration in a transaction of its own. */
export function migrate(
  db: DatabaseSync,
  file: string,
  transaction: (work: () => void) => void,
): void {
  checkVersion(db, file);
  for (let version = userVersion(db); version < SCHEMA_VERSION; version++) {
    transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}
