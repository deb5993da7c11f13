import { join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";

/** Default state file name (`state_file`, docs/configuration.md). */
export const STATE_FILE = ".upstream-watch.sqlite";

/** Absolute path of the default state file of a clone. */
export function stateFileOf(clone: string): string {
  return join(clone, STATE_FILE);
}

/** A row as node:sqlite returns it. */
export type StateRow = Record<string, SQLInputValue>;

/** Runs one read-only query against the state file and closes it again. */
export function queryState(
  file: string,
  sql: string,
  ...params: SQLInputValue[]
): StateRow[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all(...params) as StateRow[];
  } finally {
    db.close();
  }
}

/** Every run row, oldest first; only those of `service` when given. */
export function runRows(file: string, service?: string): StateRow[] {
  return service === undefined
    ? queryState(file, "SELECT * FROM runs ORDER BY id")
    : queryState(
      file,
      "SELECT * FROM runs WHERE service = ? ORDER BY id",
      service,
    );
}

/** The service row of `name`, if the state knows it. */
export function serviceRow(file: string, name: string): StateRow | undefined {
  return queryState(file, "SELECT * FROM services WHERE name = ?", name)[0];
}

/** Every table's full content and the schema version, for "nothing was written" comparisons. */
export function stateSnapshot(file: string): string {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = [
      "SELECT * FROM services ORDER BY name",
      "SELECT * FROM runs ORDER BY id",
      "SELECT * FROM run_commands ORDER BY run_id, seq",
    ].map((sql) => db.prepare(sql).all());
    const version = db.prepare("PRAGMA user_version").get();
    return JSON.stringify({ version, tables });
  } finally {
    db.close();
  }
}
