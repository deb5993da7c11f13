import {
  DatabaseSync,
  type SQLInputValue,
  type StatementSync,
} from "node:sqlite";
import { StateError, StateLostError } from "../errors.ts";
import { isCommitId, normalizeCommitId } from "../git/commit_id.ts";
import {
  readNullableStoredText,
  readStoredText,
  storedText,
} from "./text_value.ts";
import { MIGRATIONS, REQUIRED_TABLES, SCHEMA_VERSION } from "./schema.ts";
import type {
  CommandRecord,
  FinishRunInput,
  InterruptedRun,
  ProcessGroupRecord,
  RunRecord,
  ServiceRecord,
  StartRunInput,
} from "./types.ts";

/** Options of {@link StateStore.open}. */
export interface OpenStateOptions {
  /** Read-only commands never create or change the file; a missing file reads as empty state. */
  readOnly?: boolean;
}

type Row = Record<string, SQLInputValue>;

/** One row of the original Go tool's `modules` table that records an update. */
export interface LegacyModule {
  name: string;
  /** `git_commit` exactly as the Go tool stored it (often with `git rev-parse`'s trailing newline), or null. */
  commit: string | null;
}

/** Key of the state file's id in `state_meta` (the git dir keeps a copy). */
const STATE_ID_KEY = "state_id";

/** The SQLite state of one repository (SPEC §5): services, runs and their captured output. */
export class StateStore {
  readonly file: string;
  /** Rows of the original Go tool's `modules` table, newest first, awaiting {@link importLegacy}. */
  legacyModules: LegacyModule[] = [];
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  /** Commits made through this connection (data_version does not count them). */
  #commits = 0;
  /** Device and inode of the open file, to notice it being removed or replaced under us. */
  #fileIdentity?: { dev: number; ino: number | null };
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
  }

  /** Opens (creating and migrating unless read-only) the state database at `file`. */
  static open(file: string, options: OpenStateOptions = {}): StateStore {
    const readOnly = options.readOnly ?? false;
    if (readOnly && !fileExists(file)) {
      const store = new StateStore(file, new DatabaseSync(":memory:"), true);
      store.#migrate();
      return store;
    }
    let db: DatabaseSync;
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
      db = new DatabaseSync(file, { readOnly, timeout: 5000 });
    } catch (error) {
      throw new StateError(
        `cannot open state file ${file}: ${messageOf(error)}`,
        { file, cause: error },
      );
    }
    let store = new StateStore(file, db, readOnly);
    try {
      if (!readOnly) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
        store.legacyModules = store.#readLegacyModules();
        store.#migrate();
        store.#checkTables();
        const info = Deno.statSync(file);
        store.#fileIdentity = { dev: info.dev, ino: info.ino };
      } else {
        store.#checkVersion();
        if (store.#userVersion() < SCHEMA_VERSION) {
          // Not yet migrated (e.g. the Go tool's file): reads as empty until `run` migrates it.
          db.close();
          store = new StateStore(file, new DatabaseSync(":memory:"), true);
          store.#migrate();
        } else {
          store.#checkTables();
        }
      }
    } catch (error) {
      db.close();
      if (error instanceof StateError) throw error;
      throw new StateError(
        `state file ${file} is unusable: ${messageOf(error)}`,
        { file, cause: error },
      );
    }
    return store;
  }

  /** Closes the database; the store is unusable afterwards. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #userVersion(): number {
    const row = this.#db.prepare("PRAGMA user_version").get() as
      | { user_version: number }
      | undefined;
    return row?.user_version ?? 0;
  }

  #checkVersion(): void {
    const version = this.#userVersion();
    if (version > SCHEMA_VERSION) {
      throw new StateError(
        `state file ${this.file} has schema version ${version}, newer than this build understands (${SCHEMA_VERSION}); upgrade upstream-watch`,
        { file: this.file },
      );
    }
  }

  /** A table dropped by hand or by a damaged file would otherwise fail the first query with a stack trace. */
  #checkTables(): void {
    const present = new Set(
      (this.#db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table'",
      ).all() as { name: string }[]).map((row) => row.name),
    );
    const missing = REQUIRED_TABLES.filter((table) => !present.has(table));
    if (missing.length > 0) {
      throw new StateError(
        `state file ${this.file} is missing table${
          missing.length > 1 ? "s" : ""
        } ${
          missing.join(", ")
        } (schema version ${this.#userVersion()}); restore it from a backup, or move it away to start with an empty state`,
        { file: this.file },
      );
    }
  }

  /**
   * The original Go tool kept `modules(name, git_commit, updated)` (later with
   * an `id` column) in the same file; rows come newest first by insertion.
   */
  #readLegacyModules(): LegacyModule[] {
    if (this.#userVersion() !== 0) return [];
    const table = this.#db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'modules'",
    ).get();
    if (!table) return [];
    const columns = (this.#db.prepare("PRAGMA table_info(modules)").all() as {
      name: string;
    }[]).map((column) => column.name);
    const order = columns.includes("id") ? "id" : "rowid";
    const updated = columns.includes("updated") ? "updated" : "1";
    const rows = this.#db.prepare(
      `SELECT name, git_commit, ${updated} AS updated FROM modules ORDER BY ${order} DESC`,
    ).all() as Row[];
    return rows.filter((row) => row.name !== null && isTrue(row.updated))
      .map((row) => ({
        name: String(row.name),
        commit: row.git_commit === null ? null : String(row.git_commit),
      }));
  }

  /** Records the Go tool's deployments (service → commit, chosen by the caller) and forgets its rows. */
  importLegacy(
    imported: ReadonlyMap<string, string>,
    now: number,
  ): void {
    for (const commit of imported.values()) assertCommitId(commit);
    this.transaction(() => {
      for (const [service, commit] of imported) {
        this.#ensureService(service);
        this.#stmt(
          "UPDATE services SET deployed_commit = ?, deployed_at = ? WHERE name = ?",
        ).run(commit, now, service);
      }
    });
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
    if (!identity) return undefined;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(this.file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "was removed";
      return `cannot be read (${messageOf(error)})`;
    }
    if (info.dev !== identity.dev || info.ino !== identity.ino) {
      return "was replaced by another file";
    }
    if (info.size === 0) return "was emptied";
    return undefined;
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

  #migrate(): void {
    this.#checkVersion();
    for (
      let version = this.#userVersion();
      version < SCHEMA_VERSION;
      version++
    ) {
      this.transaction(() => {
        this.#db.exec(MIGRATIONS[version]);
        this.#db.exec(`PRAGMA user_version = ${version + 1}`);
      });
    }
  }

  #stmt(sql: string): StatementSync {
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
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      this.#commits++;
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Marks runs left `running` by a crashed agent as `interrupted`; returns them. */
  markInterruptedRuns(now: number): InterruptedRun[] {
    const running = (this.#stmt(
      "SELECT * FROM runs WHERE outcome = 'running' ORDER BY id",
    ).all() as Row[]).map((row) => ({
      ...toRunRecord(row),
      processGroup: row.pgid === null || row.pgid === undefined ? null : {
        pgid: Number(row.pgid),
        startTime: nullableString(row.pgid_started),
      },
    }));
    if (running.length === 0) return [];
    this.transaction(() => {
      for (const run of running) {
        this.#stmt(
          "UPDATE runs SET outcome = 'interrupted', finished_at = ?, error = ?, pgid = NULL, pgid_started = NULL WHERE id = ?",
        ).run(now, "the agent stopped while this run was in progress", run.id);
        this.#stmt(
          "UPDATE services SET last_outcome = 'interrupted' WHERE name = ? AND last_run_id = ?",
        ).run(run.service, run.id);
      }
    });
    return running;
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
    if (
      cached && cached.version === version && cached.commits === this.#commits
    ) {
      return cached.services;
    }
    const rows = this.#stmt("SELECT * FROM services ORDER BY name")
      .all() as Row[];
    const services = new Map(
      rows.map((row) => [String(row.name), toServiceRecord(row)]),
    );
    this.#servicesCache = { version, commits: this.#commits, services };
    return services;
  }

  /** Writes a run as `running` before its first command; returns its id. */
  startRun(input: StartRunInput): number {
    assertCommitId(input.toCommit);
    return this.transaction(() => {
      const { lastInsertRowid } = this.#stmt(
        `INSERT INTO runs (service, trigger, from_commit, to_commit, revision, attempt, started_at, outcome, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)`,
      ).run(
        input.service,
        input.trigger,
        input.fromCommit,
        input.toCommit,
        input.revision ?? null,
        input.attempt ?? 1,
        input.startedAt,
        JSON.stringify(input.reason),
      );
      const runId = Number(lastInsertRowid);
      this.#ensureService(input.service);
      this.#stmt(
        "UPDATE services SET last_run_id = ?, last_outcome = 'running', last_run_at = ?, removed_at = NULL WHERE name = ?",
      ).run(runId, input.startedAt, input.service);
      return runId;
    });
  }

  /** Remembers the process group of the run's command that just started (cleared by {@link recordCommand}). */
  recordProcessGroup(runId: number, group: ProcessGroupRecord): void {
    this.transaction(() => {
      this.#stmt("UPDATE runs SET pgid = ?, pgid_started = ? WHERE id = ?")
        .run(group.pgid, group.startTime, runId);
    });
  }

  /** Stores one finished command of a run with the tail of its output, and forgets its process group. */
  recordCommand(runId: number, command: CommandRecord): void {
    this.transaction(() => {
      this.#stmt(
        "UPDATE runs SET pgid = NULL, pgid_started = NULL WHERE id = ?",
      ).run(runId);
      this.#stmt(
        `INSERT INTO run_commands (run_id, seq, step, command, started_at, finished_at, exit_code, timed_out, output, truncated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        runId,
        command.seq,
        command.step,
        storedText(command.command),
        command.startedAt,
        command.finishedAt,
        command.exitCode,
        command.timedOut ? 1 : 0,
        storedText(command.output),
        command.truncated ? 1 : 0,
      );
    });
  }

  /** Finishes a run, updates its service and prunes old history, in one transaction. */
  finishRun(runId: number, input: FinishRunInput): void {
    this.transaction(() => {
      const run = this.#stmt("SELECT * FROM runs WHERE id = ?").get(runId) as
        | Row
        | undefined;
      if (!run) throw new Error(`run ${runId} does not exist`);
      const record = toRunRecord(run);
      this.#stmt(
        "UPDATE runs SET outcome = ?, finished_at = ?, failed_step = ?, error = ? WHERE id = ?",
      ).run(
        input.outcome,
        input.finishedAt,
        input.failedStep ?? null,
        input.error === undefined || input.error === null
          ? null
          : storedText(input.error),
        runId,
      );
      this.#stmt(
        "UPDATE services SET last_outcome = ?, last_run_at = ? WHERE name = ? AND last_run_id = ?",
      ).run(input.outcome, input.finishedAt, record.service, runId);
      if (input.outcome === "succeeded" && input.recordsDeployment !== false) {
        this.#stmt(
          `UPDATE services SET deployed_commit = ?, deployed_at = ?, failed_attempts = 0,
             failed_revision = NULL, last_failure_at = NULL WHERE name = ?`,
        ).run(record.toCommit, input.finishedAt, record.service);
      } else if (input.outcome === "failed") {
        this.#stmt(
          `UPDATE services SET
             failed_attempts = CASE WHEN failed_revision IS ? THEN failed_attempts + 1 ELSE 1 END,
             failed_revision = ?, last_failure_at = ? WHERE name = ?`,
        ).run(
          record.revision,
          record.revision,
          input.finishedAt,
          record.service,
        );
      }
      if (input.historyLimit !== undefined) {
        this.#prune(record.service, input.historyLimit);
      }
    });
  }

  #prune(service: string, keep: number): void {
    const cutoff = this.#stmt(
      "SELECT id FROM runs WHERE service = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    ).get(service, keep) as { id: number } | undefined;
    if (!cutoff) return;
    this.#stmt(
      "DELETE FROM run_commands WHERE run_id IN (SELECT id FROM runs WHERE service = ? AND id <= ?)",
    ).run(service, cutoff.id);
    this.#stmt("DELETE FROM runs WHERE service = ? AND id <= ?").run(
      service,
      cutoff.id,
    );
  }

  /** Records services as deployed at `commit` without a run (for `adopt`). */
  setDeployed(services: readonly string[], commit: string, now: number): void {
    assertCommitId(commit);
    this.transaction(() => {
      for (const service of services) {
        this.#ensureService(service);
        this.#stmt(
          `UPDATE services SET deployed_commit = ?, deployed_at = ?, failed_attempts = 0,
             failed_revision = NULL, last_failure_at = NULL, removed_at = NULL WHERE name = ?`,
        ).run(commit, now, service);
      }
    });
  }

  /** Remembers that a removed service was reported, so it is reported once. */
  markRemoved(service: string, now: number): void {
    this.transaction(() => {
      this.#stmt("UPDATE services SET removed_at = ? WHERE name = ?").run(
        now,
        service,
      );
    });
  }

  #ensureService(service: string): void {
    this.#stmt("INSERT OR IGNORE INTO services (name) VALUES (?)").run(service);
  }

  /** Past runs, newest first, optionally of one service. */
  runs(options: { service?: string; limit: number }): RunRecord[] {
    const rows = options.service === undefined
      ? this.#stmt("SELECT * FROM runs ORDER BY id DESC LIMIT ?").all(
        options.limit,
      )
      : this.#stmt(
        "SELECT * FROM runs WHERE service = ? ORDER BY id DESC LIMIT ?",
      ).all(options.service, options.limit);
    return (rows as Row[]).map(toRunRecord);
  }

  /** One run by id, if it exists. */
  run(runId: number): RunRecord | undefined {
    const row = this.#stmt("SELECT * FROM runs WHERE id = ?").get(runId) as
      | Row
      | undefined;
    return row ? toRunRecord(row) : undefined;
  }

  /** A value the notifier keeps across restarts (see `notification_state`), if set. */
  notificationState(key: string): string | undefined {
    const row = this.#stmt(
      "SELECT value FROM notification_state WHERE key = ?",
    ).get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** Sets a notifier value; written only when the notifier's state changes. */
  setNotificationState(key: string, value: string, now: number): void {
    this.transaction(() => {
      this.#stmt(
        `INSERT INTO notification_state (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      ).run(key, value, now);
    });
  }

  /** Removes a notifier value. */
  clearNotificationState(key: string): void {
    this.transaction(() => {
      this.#stmt("DELETE FROM notification_state WHERE key = ?").run(key);
    });
  }

  /** Parsed hook files saved by `parser` (this build's version), by key. */
  parsedHookFiles(parser: string): Map<string, string> {
    const rows = this.#stmt(
      "SELECT key, parsed FROM hook_files WHERE parser = ?",
    ).all(parser) as { key: string; parsed: string }[];
    return new Map(rows.map((row) => [row.key, row.parsed]));
  }

  /** Replaces the saved parsed hook files with `files` (called only when HEAD brought new ones). */
  saveParsedHookFiles(
    parser: string,
    files: ReadonlyMap<string, string>,
  ): void {
    this.transaction(() => {
      this.#stmt("DELETE FROM hook_files").run();
      const insert = this.#stmt(
        "INSERT INTO hook_files (key, parser, parsed) VALUES (?, ?, ?)",
      );
      for (const [key, parsed] of files) insert.run(key, parser, parsed);
    });
  }

  /** The commands of one run in the order they ran, with their output. */
  commands(runId: number): CommandRecord[] {
    const rows = this.#stmt(
      "SELECT * FROM run_commands WHERE run_id = ? ORDER BY seq",
    ).all(runId) as Row[];
    return rows.map((row) => ({
      seq: Number(row.seq),
      step: String(row.step) as CommandRecord["step"],
      command: readStoredText(row.command),
      startedAt: Number(row.started_at),
      finishedAt: Number(row.finished_at),
      exitCode: row.exit_code === null ? null : Number(row.exit_code),
      timedOut: Number(row.timed_out) === 1,
      output: readStoredText(row.output),
      truncated: Number(row.truncated) === 1,
    }));
  }
}

function toServiceRecord(row: Row): ServiceRecord {
  const recorded = nullableString(row.deployed_commit);
  // Written by hand, by an older build or by another tool: read leniently, never pass on a non-id.
  const deployedCommit = recorded === null
    ? null
    : normalizeCommitId(recorded) ?? null;
  return {
    name: String(row.name),
    deployedCommit,
    ...(recorded !== null && deployedCommit === null
      ? { invalidDeployedCommit: recorded }
      : {}),
    deployedAt: nullableNumber(row.deployed_at),
    lastRunId: nullableNumber(row.last_run_id),
    lastOutcome: nullableString(row.last_outcome) as ServiceRecord[
      "lastOutcome"
    ],
    lastRunAt: nullableNumber(row.last_run_at),
    failedAttempts: Number(row.failed_attempts),
    failedRevision: nullableString(row.failed_revision),
    lastFailureAt: nullableNumber(row.last_failure_at),
    removedAt: nullableNumber(row.removed_at),
  };
}

function toRunRecord(row: Row): RunRecord {
  return {
    id: Number(row.id),
    service: String(row.service),
    trigger: String(row.trigger) as RunRecord["trigger"],
    fromCommit: nullableString(row.from_commit),
    toCommit: String(row.to_commit),
    revision: nullableString(row.revision),
    attempt: Number(row.attempt),
    startedAt: Number(row.started_at),
    finishedAt: nullableNumber(row.finished_at),
    outcome: String(row.outcome) as RunRecord["outcome"],
    failedStep: nullableString(row.failed_step) as RunRecord["failedStep"],
    error: readNullableStoredText(row.error),
    reason: JSON.parse(String(row.reason)),
  };
}

function nullableString(value: SQLInputValue | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

function nullableNumber(value: SQLInputValue | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function fileExists(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new StateError(
      `cannot read state file ${file}: ${messageOf(error)}`,
      {
        file,
        cause: error,
      },
    );
  }
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

/** A commit id written into the state must be one; anything else is a bug upstream of the store. */
function assertCommitId(commit: string): void {
  if (!isCommitId(commit)) {
    throw new Error(`not a commit id: ${JSON.stringify(commit)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
