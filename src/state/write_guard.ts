/**
 * Telling a state file that cannot be written (locked, full, read-only,
 * immutable) from a bug, and finding out before SQLite touches it.
 * See docs/design.md#when-the-state-file-cannot-be-written.
 * @module
 */
import { errorMessage, StateWriteError } from "../errors.ts";

/** How long SQLite retries a write while another process holds the lock (its busy handler backs off up to 100 ms between tries). */
export const BUSY_TIMEOUT_MS = 5000;
/** The shorter wait of a probe write while the file is known to be unwritable: the daemon must keep answering meanwhile. */
export const PROBE_BUSY_TIMEOUT_MS = 200;

/** SQLite's messages for a write the storage refused; anything else (a constraint, a bug) is not one. */
const STORAGE_FAILURES: readonly { pattern: RegExp; hint: string }[] = [
  {
    pattern: /database is locked|database table is locked/i,
    hint: `another process holds a write lock on it for more than ${
      BUSY_TIMEOUT_MS / 1000
    } s`,
  },
  { pattern: /database or disk is full/i, hint: "the disk is full" },
  {
    pattern: /readonly database|read-only/i,
    hint: "the file or its file system is read-only",
  },
  { pattern: /disk I\/O error/i, hint: "the file system refused the write" },
  {
    pattern: /unable to open database file|access permission denied/i,
    hint: "the file cannot be opened for writing",
  },
];

/** Why `error` means the storage refused a write ("database is locked: another process …"), or undefined for any other error. */
export function storageFailure(error: unknown): string | undefined {
  const message = errorMessage(error);
  const failure = STORAGE_FAILURES.find(({ pattern }) => pattern.test(message));
  return failure ? `${message} (${failure.hint})` : undefined;
}

/**
 * Why one of `files` cannot be changed now (an immutable file, a read-only
 * file system), or undefined. SQLite maps the `-shm` file into memory, and
 * writing to the mapping of an immutable file kills the process with SIGBUS,
 * so this is asked before SQLite is. The question is a `chmod` to the mode the
 * file has: opening the file instead would drop the locks SQLite holds on it
 * (POSIX locks belong to the process and go with any close).
 */
export function unwritableFile(files: readonly string[]): string | undefined {
  if (Deno.build.os === "windows") return undefined;
  for (const file of files) {
    try {
      Deno.chmodSync(file, Deno.statSync(file).mode! & 0o7777);
    } catch (error) {
      // Not created yet: SQLite creates it, and a failure then is an error it reports.
      if (error instanceof Deno.errors.NotFound) continue;
      return `${file} cannot be written: ${errorMessage(error)}`;
    }
  }
  return undefined;
}

/** Remembers why writes to one state file fail, until one succeeds again. */
export class WriteGuard {
  readonly #file: string;
  #problem?: string;

  constructor(file: string) {
    this.#file = file;
  }

  /** Why the last write failed, or undefined once one succeeded. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** True when the state file or its `-wal` or `-shm` file cannot be changed now. */
  unwritable(): boolean {
    return this.#unwritable(["", "-wal", "-shm"]) !== undefined;
  }

  /** Throws a {@link StateWriteError} (remembered) when one of the state file's `endings` ("", "-wal", "-shm") cannot be written now. */
  assertWritable(endings: readonly string[]): void {
    const problem = this.#unwritable(endings);
    if (problem !== undefined) throw this.failure(new Error(problem), problem);
  }

  /** Why one of the state file's `endings` cannot be changed now, if one cannot. */
  #unwritable(endings: readonly string[]): string | undefined {
    return unwritableFile(endings.map((ending) => `${this.#file}${ending}`));
  }

  /** A refused write as a {@link StateWriteError}, remembered; any other error as it is. */
  failure(error: unknown, reason = storageFailure(error)): unknown {
    if (error instanceof StateWriteError) return error;
    if (reason === undefined) return error;
    const failure = new StateWriteError(
      `cannot write state file ${this.#file}: ${reason}`,
      { file: this.#file, cause: error },
    );
    this.#problem = failure.message;
    return failure;
  }

  /** A write went through: the file is writable again. */
  succeeded(): void {
    this.#problem = undefined;
  }
}
