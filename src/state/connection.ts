/** Opening the SQLite connection of a state file, and how long its writes wait for a lock. */
import { DatabaseSync } from "node:sqlite";
import { errorMessage, StateError } from "../errors.ts";
import { fileExists } from "./file_identity.ts";
import { BUSY_TIMEOUT_MS, PROBE_BUSY_TIMEOUT_MS } from "./write_guard.ts";

/** SQLite's page cache per connection, in KiB (measured by the daemon's RSS in `deno task bench`). */
const PAGE_CACHE_KIB = 512;

/** Opens `file` (creating it with mode 0600 unless read-only); an unusable file is a {@link StateError}. */
export function openConnection(file: string, readOnly: boolean): DatabaseSync {
  try {
    // SQLite silently falls back to read-only on a file it cannot write; fail up front instead.
    const existed = fileExists(file);
    if (!readOnly && existed) {
      Deno.openSync(file, { read: true, write: true }).close();
    }
    if (!readOnly && !existed && Deno.build.os !== "windows") {
      // Runs hold command output: only the agent's user may read them. SQLite
      // gives the -wal and -shm files the same mode as the database file.
      Deno.openSync(file, { write: true, createNew: true, mode: 0o600 })
        .close();
    }
    const db = new DatabaseSync(file, { readOnly, timeout: BUSY_TIMEOUT_MS });
    // SQLite's default 2 MB page cache stays filled for the daemon's life;
    // its queries touch few pages each and the OS caches the file anyway.
    db.exec(`PRAGMA cache_size = -${PAGE_CACHE_KIB}`);
    return db;
  } catch (error) {
    throw new StateError(
      `cannot open state file ${file}: ${errorMessage(error)}`,
      { file, cause: error },
    );
  }
}

/** The lock wait of normal writes, or the short one of a probe write (the daemon keeps answering meanwhile). */
export function setBusyTimeout(
  db: DatabaseSync,
  wait: "normal" | "probe",
): void {
  const ms = wait === "probe" ? PROBE_BUSY_TIMEOUT_MS : BUSY_TIMEOUT_MS;
  db.exec(`PRAGMA busy_timeout = ${ms}`);
}
