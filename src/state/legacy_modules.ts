/** Reading the original Go tool's `modules` table out of a state file it left behind. */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { Row } from "./state_rows.ts";

/** One row of the original Go tool's `modules` table that records an update. */
export interface LegacyModule {
  name: string;
  /** `git_commit` exactly as the Go tool stored it (often with `git rev-parse`'s trailing newline), or null. */
  commit: string | null;
}

/**
 * The Go tool's update rows of a not yet migrated file (`user_version` 0),
 * newest first by insertion. It kept `modules(name, git_commit, updated)`
 * (later with an `id` column) in the same file.
 */
export function readLegacyModules(
  db: DatabaseSync,
  userVersion: number,
): LegacyModule[] {
  if (userVersion !== 0) return [];
  const table = db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'modules'",
  ).get();
  if (!table) return [];
  const columns = (db.prepare("PRAGMA table_info(modules)").all() as {
    name: string;
  }[]).map((column) => column.name);
  const order = columns.includes("id") ? "id" : "rowid";
  const updated = columns.includes("updated") ? "updated" : "1";
  const rows = db.prepare(
    `SELECT name, git_commit, ${updated} AS updated FROM modules ORDER BY ${order} DESC`,
  ).all() as Row[];
  return rows.filter((row) => row.name !== null && isTrue(row.updated))
    .map((row) => ({
      name: String(row.name),
      commit: row.git_commit === null ? null : String(row.git_commit),
    }));
}

/** SQLite booleans as other tools write them: 1, "1", "true", "t" (any case). */
function isTrue(value: SQLInputValue | undefined): boolean {
  if (typeof value === "number" || typeof value === "bigint") {
    return Number(value) !== 0;
  }
  if (typeof value === "string") {
    return ["1", "true", "t", "yes"].includes(value.trim().toLowerCase());
  }
  return false;
}
