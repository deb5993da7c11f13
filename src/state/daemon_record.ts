/**
 * What the daemon was started with, kept in the state file so that every other
 * command works with the daemon's settings (docs/design.md#the-daemons-settings)
 * and knows whom to hand its requests to.
 * @module
 */
import type { StateStore } from "./store.ts";

/** Key of the record in `state_meta`. */
const DAEMON_KEY = "daemon";

/** The daemon's effective settings as it recorded them at start. */
export interface DaemonRecord {
  pid: number;
  /** Epoch milliseconds. */
  startedAt: number;
  /** The host name its services are matched against. */
  host: string;
  /** The `--config` it was given (absolute), or null for the repository's own file. */
  config: string | null;
  /** Signature verification from `--allowed-signers` or its variable, or null when the repository decides. */
  allowedSigners: { path: string; source: string } | null;
  /** False once it stopped (the record stays: its settings are still the agent's). */
  running: boolean;
}

/** The recorded daemon, if one ever ran with this state file. */
export function daemonRecord(
  store: Pick<StateStore, "statement">,
): DaemonRecord | undefined {
  const row = store.statement("SELECT value FROM state_meta WHERE key = ?")
    .get(DAEMON_KEY) as { value: string } | undefined;
  if (!row) return undefined;
  try {
    return JSON.parse(String(row.value)) as DaemonRecord;
  } catch {
    return undefined;
  }
}

/** Records the daemon's settings (at start, and `running: false` at stop). */
export function recordDaemon(store: StateStore, record: DaemonRecord): void {
  store.transaction(() => {
    store.statement(
      `INSERT INTO state_meta (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ).run(DAEMON_KEY, JSON.stringify(record));
  });
}
