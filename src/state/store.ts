import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  clearServiceRowChanges,
  noteServiceRowChanges,
  refreshChangedServices,
} from "./service_row_changes.ts";
import {
  errorMessage,
  StateError,
  StateLostError,
  StateWriteError,
} from "../errors.ts";
import {
  fileExists,
  type FileIdentity,
  fileIdentity,
  fileProblem,
} from "./file_identity.ts";
import {
  readParsedHookFiles,
  replaceParsedHookFiles,
} from "./hook_file_cache.ts";
import { type LegacyModule, readLegacyModules } from "./legacy_modules.ts";
import {
  deleteNotificationState,
  readNotificationState,
  writeNotificationState,
} from "./notification_state.ts";
import * as runRecords from "./run_records.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import {
  checkTables,
  checkVersion,
  migrate,
  userVersion,
} from "./schema_check.ts";
import {
  importLegacyDeployments,
  markRemoved,
  readServices,
  setDeployed,
} from "./service_records.ts";
import { openConnection, setBusyTimeout } from "./connection.ts";
import { WriteGuard } from "./write_guard.ts";
import type {
  CommandRecord,
  FinishRunInput,
  InterruptedRun,
  ProcessGroupRecord,
  RunReason,
  RunRecord,
  ServiceRecord,
  StartRunInput,
} from "./types.ts";

export type { LegacyModule } from "./legacy_modules.ts";

/** Options of {@link StateStore.open}. */
export interface OpenStateOptions {
  /** Read-only commands never create or change the file; a missing file reads as empty state. */
  readOnly?: boolean;
}

/** Key of the state file's id in `state_meta` (the git dir keeps a copy). */
const STATE_ID_KEY = "state_id";
/** Key a probe write sets while the file is known to be unwritable. */
const PROBE_KEY = "write_probe";

/** The SQLite state of one repository (docs/design.md#state-and-crash-recovery): services, runs and their captured output. */
export class StateStore {
  readonly file: string;
  /** Rows of the original Go tool's `modules` table, newest first, awaiting {@link importLegacy}. */
  legacyModules: LegacyModule[] = [];
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  /** Commits made through this connection (data_version does not count them). */
  #commits = 0;
  /** Device and inode of the open file, to notice it being removed or replaced under us. */
  #fileIdentity?: FileIdentity;
  /** Why writes fail, until one succeeds again (docs/design.md#when-the-state-file-cannot-be-written). */
  readonly #writes: WriteGuard;
  #servicesCache?: {
    version: number;
    commits: number;
    services: ReadonlyMap<string, ServiceRecord>;
  };

  /** True when this store never writes (read-only commands). */
  readonly readOnly: boolean;

  private constructor(file: string, db: DatabaseSync, readOnly: boolean) {
    this.file = file;
    this.#db = db;
    this.readOnly = readOnly;
    this.#writes = new WriteGuard(file);
  }

  /** Opens (creating and migrating unless read-only) the state database at `file`. */
  static open(file: string, options: OpenStateOptions = {}): StateStore {
    const readOnly = options.readOnly ?? false;
    if (readOnly && !fileExists(file)) {
      const memory = new DatabaseSync(":memory:");
      const store = new StateStore(file, memory, true);
      migrate(memory, file, (work) => store.transaction(work));
      return store;
    }
    const db = openConnection(file, readOnly);
    let store = new StateStore(file, db, readOnly);
    try {
      if (!readOnly) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
        store.legacyModules = readLegacyModules(db, userVersion(db));
        migrate(db, file, (work) => store.transaction(work));
        checkTables(db, file);
        noteServiceRowChanges(db);
        store.#fileIdentity = fileIdentity(file);
      } else {
        checkVersion(db, file);
        if (userVersion(db) < SCHEMA_VERSION) {
          // Not yet migrated (e.g. the Go tool's file): reads as empty until `run` migrates it.
          db.close();
          const memory = new DatabaseSync(":memory:");
          const empty = new StateStore(file, memory, true);
          migrate(memory, file, (work) => empty.transaction(work));
          store = empty;
        } else {
          checkTables(db, file);
        }
      }
    } catch (error) {
      db.close();
      if (error instanceof StateError) throw error;
      throw new StateError(
        `state file ${file} is unusable: ${errorMessage(error)}`,
        { file, cause: error },
      );
    }
    return store;
  }

  /** Closes the database, but never an unwritable one: closing checkpoints through the -shm mapping (docs/design.md#when-the-state-file-cannot-be-written). */
  close(): void {
    if (!this.#db.isOpen) return;
    if (this.#fileIdentity && this.#writes.unwritable()) return;
    this.#db.close();
  }

  /** Records the Go tool's deployments (service → commit, chosen by the caller) and forgets its rows. */
  importLegacy(
    imported: ReadonlyMap<string, string>,
    now: number,
  ): void {
    importLegacyDeployments(this, imported, now);
    this.legacyModules = [];
  }

  /** The id stored in the state file when it was created, if it has one yet. */
  stateId(): string | undefined {
    const row = this.#stmt("SELECT value FROM state_meta WHERE key = ?").get(
      STATE_ID_KEY,
    ) as { value: string } | undefined;
    return row?.value;
  }

  /** The state file's id, created on the first call for a new (or older) file. */
  ensureStateId(): string {
    const existing = this.stateId();
    if (existing !== undefined) return existing;
    const id = crypto.randomUUID();
    this.transaction(() => {
      this.#stmt("INSERT INTO state_meta (key, value) VALUES (?, ?)").run(
        STATE_ID_KEY,
        id,
      );
    });
    return id;
  }

  /**
   * Why the path no longer leads to the open file (removed, emptied, replaced
   * by another file), or undefined while it does. One stat; no-op for read-only stores.
   */
  fileProblem(): string | undefined {
    const identity = this.#fileIdentity;
    return identity ? fileProblem(this.file, identity) : undefined;
  }

  /** Throws a {@link StateLostError} when the state file was removed or replaced while open. */
  assertFileIntact(): void {
    const problem = this.fileProblem();
    if (problem === undefined) return;
    throw new StateLostError(
      `state file ${this.file} ${problem} while upstream-watch was running; stopped so that nothing is deployed without being recorded`,
      { file: this.file },
    );
  }

  #stmt(sql: string): StatementSync {
    // Readers write to the -shm mapping too (their read marks).
    if (!this.readOnly && this.#fileIdentity) {
      this.#writes.assertWritable(["-shm"]);
    }
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** A prepared statement on this database, for the state modules beside this one. */
  statement(sql: string): StatementSync {
    return this.#stmt(sql);
  }

  /** Runs `work` in one write transaction: all of it lands, or none (nested calls join the outer one). */
  transaction<T>(work: () => T): T {
    if (this.#db.isTransaction) return work();
    if (this.#fileIdentity) this.#writes.assertWritable(["", "-wal", "-shm"]);
    let result: T;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      result = work();
      this.#db.exec("COMMIT");
    } catch (error) {
      // A failed COMMIT may have rolled back already (a full disk does).
      if (this.#db.isTransaction) rollBack(this.#db);
      throw this.#writes.failure(error);
    }
    this.#commits++;
    this.#writes.succeeded();
    return result;
  }

  /** Why the last write failed (set until a write succeeds again); the daemon deploys nothing meanwhile. */
  writeProblem(): string | undefined {
    return this.#writes.problem;
  }

  /** One small write with a short lock wait, to find out whether the file can be written again. */
  probeWrite(now: number): boolean {
    setBusyTimeout(this.#db, "probe");
    try {
      this.transaction(() => {
        this.#stmt(
          "INSERT INTO state_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        ).run(PROBE_KEY, String(now));
      });
      return true;
    } catch (error) {
      if (error instanceof StateWriteError) return false;
      throw error;
    } finally {
      setBusyTimeout(this.#db, "normal");
    }
  }

  /** Marks runs left `running` by a crashed agent as `interrupted`; returns them. */
  markInterruptedRuns(now: number): InterruptedRun[] {
    return runRecords.markInterruptedRuns(this, now);
  }

  /** Changes whenever anything was committed to the state, by this connection or another (cheap: no table is read). */
  changeStamp(): string {
    return `${this.#dataVersion()}:${this.#commits}`;
  }

  #dataVersion(): number {
    return Number(
      (this.#stmt("PRAGMA data_version").get() as { data_version: number })
        .data_version,
    );
  }

  /** Every service the state knows, by name. */
  services(): ReadonlyMap<string, ServiceRecord> {
    // An idle cycle asks every poll; rows change only by a commit, ours (counted) or another connection's (data_version).
    const version = this.#dataVersion();
    const cached = this.#servicesCache;
    if (cached && cached.version === version) {
      if (cached.commits === this.#commits) return cached.services;
      // Only our own commits since: the rows they changed are noted.
      const refreshed = this.readOnly
        ? undefined
        : refreshChangedServices(this, cached.services);
      if (refreshed) {
        this.#servicesCache = {
          version,
          commits: this.#commits,
          services: refreshed,
        };
        return refreshed;
      }
    }
    if (!this.readOnly) clearServiceRowChanges(this);
    const services = readServices(this);
    this.#servicesCache = { version, commits: this.#commits, services };
    return services;
  }

  /** Writes a run as `running` before its first command (with what `alongside` writes, in one transaction); returns its id. */
  startRun(
    input: StartRunInput,
    alongside?: (runId: number) => void,
  ): number {
    return runRecords.startRun(this, input, alongside);
  }

  /** Replaces a running run's reason (its "why" commits arrive after it started). */
  recordRunReason(runId: number, reason: RunReason): void {
    runRecords.recordRunReason(this, runId, reason);
  }

  /** Remembers the process group of the run's command that just started (cleared by {@link recordCommand}). */
  recordProcessGroup(runId: number, group: ProcessGroupRecord): void {
    runRecords.recordProcessGroup(this, runId, group);
  }

  /** Stores one finished command of a run with the tail of its output, and forgets its process group. */
  recordCommand(runId: number, command: CommandRecord): void {
    runRecords.recordCommand(this, runId, command);
  }

  /** Finishes a run, updates its service and prunes old history (with what `alongside` writes), in one transaction. */
  finishRun(
    runId: number,
    input: FinishRunInput,
    alongside?: () => void,
  ): void {
    runRecords.finishRun(this, runId, input, alongside);
  }

  /** Records services as deployed at `commit` without a run (for `adopt`). */
  setDeployed(services: readonly string[], commit: string, now: number): void {
    setDeployed(this, services, commit, now);
  }

  /** Remembers that a removed service was reported, so it is reported once. */
  markRemoved(service: string, now: number): void {
    markRemoved(this, service, now);
  }

  /** Past runs, newest first, optionally of one service. */
  runs(options: { service?: string; limit: number }): RunRecord[] {
    return runRecords.listRuns(this, options);
  }

  /** One run by id, if it exists. */
  run(runId: number): RunRecord | undefined {
    return runRecords.findRun(this, runId);
  }

  /** The last run of every service, by run id. */
  lastRuns(): ReadonlyMap<number, RunRecord> {
    return runRecords.lastRuns(this);
  }

  /** A value the notifier keeps across restarts (see `notification_state`), if set. */
  notificationState(key: string): string | undefined {
    return readNotificationState(this, key);
  }

  /** Sets a notifier value; written only when the notifier's state changes. */
  setNotificationState(key: string, value: string, now: number): void {
    writeNotificationState(this, key, value, now);
  }

  /** Removes a notifier value. */
  clearNotificationState(key: string): void {
    deleteNotificationState(this, key);
  }

  /** Parsed hook files saved by `parser` (this build's version), by key. */
  parsedHookFiles(parser: string): Map<string, string> {
    return readParsedHookFiles(this, parser);
  }

  /** Replaces the saved parsed hook files with `files` (called only when HEAD brought new ones). */
  saveParsedHookFiles(
    parser: string,
    files: ReadonlyMap<string, string>,
  ): void {
    replaceParsedHookFiles(this, parser, files);
  }

  /** The commands of one run in the order they ran, with their output. */
  commands(runId: number): CommandRecord[] {
    return runRecords.runCommands(this, runId);
  }
}

/** Undoes the open transaction; when even that fails, the error that led here is the one reported. */
function rollBack(db: DatabaseSync): void {
  try {
    db.exec("ROLLBACK");
  } catch {
    // SQLite rolls back itself when the connection cannot.
  }
}
