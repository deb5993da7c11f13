/** Checks of an opened state file's schema: its version, and that its tables are all there. */
import type { DatabaseSync } from "node:sqlite";
import { StateError } from "../errors.ts";
import { REQUIRED_TABLES, SCHEMA_VERSION } from "./schema.ts";

/** The schema version the file carries (`PRAGMA user_version`; 0 for a new file). */
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
