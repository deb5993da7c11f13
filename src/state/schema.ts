/** Ordered schema migrations; entry i brings `PRAGMA user_version` from i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE services (
    name TEXT PRIMARY KEY,
    deployed_commit TEXT,
    deployed_at INTEGER,
    last_run_id INTEGER,
    last_outcome TEXT,
    last_run_at INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    failed_revision TEXT,
    last_failure_at INTEGER,
    removed_at INTEGER
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    trigger TEXT NOT NULL,
    from_commit TEXT,
    to_commit TEXT NOT NULL,
    revision TEXT,
    attempt INTEGER NOT NULL DEFAULT 1,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT NOT NULL,
    failed_step TEXT,
    error TEXT,
    reason TEXT NOT NULL
  );
  CREATE INDEX runs_by_service ON runs (service, id);
  CREATE INDEX runs_running ON runs (outcome) WHERE outcome = 'running';
  CREATE TABLE run_commands (
    run_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    step TEXT NOT NULL,
    command TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    exit_code INTEGER,
    timed_out INTEGER NOT NULL DEFAULT 0,
    output TEXT NOT NULL,
    truncated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  `,
  // Notification bookkeeping that must survive a restart (one sync_failed per outage).
  `
  CREATE TABLE notification_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // Parsed hook files by blob, so read-only commands need not parse YAML again.
  `
  CREATE TABLE hook_files (
    key TEXT PRIMARY KEY,
    parser TEXT NOT NULL,
    parsed TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // The process group of a run's running hook command, so that a restart after
  // a crash can stop a hook that outlived the agent before running it again.
  `
  ALTER TABLE runs ADD COLUMN pgid INTEGER;
  ALTER TABLE runs ADD COLUMN pgid_started TEXT;
  `,
  // The state file's identity, also kept in the git dir, so a lost or replaced file is noticed.
  `
  CREATE TABLE state_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // Deploy safety: operator suspensions and each service's last rollback (its hold and crash repair).
  `
  CREATE TABLE suspensions (
    service TEXT PRIMARY KEY,
    reason TEXT,
    suspended_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE rollbacks (
    service TEXT PRIMARY KEY,
    held_revision TEXT NOT NULL,
    failed_commit TEXT NOT NULL,
    failed_run_id INTEGER NOT NULL,
    deployed_commit TEXT NOT NULL,
    paths TEXT NOT NULL,
    run_id INTEGER,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER
  ) WITHOUT ROWID;
  `,
  // Signed-commit verification that a pushed configuration cannot switch off:
  // the settings once in effect, and when each commit was first checked (the
  // time key validity is judged at).
  `
  CREATE TABLE verification_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    mode TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
  );
  CREATE TABLE verified_commits (
    commit_id TEXT PRIMARY KEY,
    first_checked_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Operator requests (deploy, rollback, check) handed to the running daemon, with their outcome.
  `
  CREATE TABLE operator_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    services TEXT NOT NULL,
    options TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    exit_code INTEGER,
    result TEXT
  );
  CREATE INDEX operator_requests_pending ON operator_requests (state) WHERE state = 'pending';
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Tables the current schema must hold; a file missing one is damaged, not empty. */
export const REQUIRED_TABLES: readonly string[] = [
  "services",
  "runs",
  "run_commands",
  "notification_state",
  "hook_files",
  "state_meta",
  "suspensions",
  "rollbacks",
  "verification_settings",
  "verified_commits",
  "operator_requests",
];
