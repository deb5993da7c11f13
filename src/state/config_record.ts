/**
 * The repository configuration the agent last put in effect, kept in the
 * state file (`state_meta`), and the commit whose configuration it refused;
 * and, in the git dir, where that state file is, so that a start whose
 * configuration at HEAD cannot be used still finds it.
 * See docs/design.md#the-cycle.
 * @module
 */
import { dirname, join } from "node:path";
import type { StateStore } from "./store.ts";

/** The part of the store these functions use. */
type Store = Pick<StateStore, "statement" | "transaction">;

/** Key of the last good configuration in `state_meta`. */
const LAST_GOOD_KEY = "last_good_config";
/** Key of the refused configuration in `state_meta`. */
const REFUSED_KEY = "config_refused";

/** A configuration as it was read: its commit (HEAD when read from disk) and text. */
export interface ConfigRecord {
  commit: string;
  text: string;
}

/** The configuration of a commit that could not be used, and why. */
export interface ConfigRefusal {
  commit: string;
  error: string;
  /** When it was first refused (epoch ms). */
  since: number;
}

/** One line saying which configuration was refused and what is in effect instead. */
export function describeRefusal(refusal: ConfigRefusal): string {
  return `the repository configuration at ${refusal.commit} cannot be used: ${refusal.error}; the last good configuration is in effect`;
}

function readMeta(store: Store, key: string): string | undefined {
  const row = store.statement("SELECT value FROM state_meta WHERE key = ?")
    .get(key) as { value: string } | undefined;
  return row?.value;
}

function writeMeta(store: Store, key: string, value: string | null): void {
  store.transaction(() => {
    if (value === null) {
      store.statement("DELETE FROM state_meta WHERE key = ?").run(key);
    } else {
      store.statement(
        "INSERT INTO state_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(key, value);
    }
  });
}

/** The last configuration put in effect, if one was recorded. */
export function lastGoodConfig(store: Store): ConfigRecord | undefined {
  const value = readMeta(store, LAST_GOOD_KEY);
  return value === undefined ? undefined : JSON.parse(value) as ConfigRecord;
}

/** Records the configuration now in effect (written only when its text changed). */
export function saveLastGoodConfig(store: Store, record: ConfigRecord): void {
  if (lastGoodConfig(store)?.text === record.text) return;
  writeMeta(store, LAST_GOOD_KEY, JSON.stringify(record));
}

/** The refused configuration, while the one in effect is an older one. */
export function configRefusal(store: Store): ConfigRefusal | undefined {
  const value = readMeta(store, REFUSED_KEY);
  return value === undefined ? undefined : JSON.parse(value) as ConfigRefusal;
}

/** Records (or, with undefined, clears) the refused configuration; written only when it changes. */
export function saveConfigRefusal(
  store: Store,
  refusal: ConfigRefusal | undefined,
): void {
  const current = configRefusal(store);
  if (current?.commit === refusal?.commit) return;
  writeMeta(store, REFUSED_KEY, refusal ? JSON.stringify(refusal) : null);
}

/** Where the git dir remembers the state file's path. */
function statePathFile(gitDir: string): string {
  return join(gitDir, "upstream-watch", "state-file");
}

/** The state file this clone used last, if recorded. */
export function recordedStatePath(gitDir: string): string | undefined {
  try {
    return Deno.readTextFileSync(statePathFile(gitDir)).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Remembers the state file's absolute path (written only when it changed). */
export function recordStatePath(gitDir: string, path: string): void {
  if (recordedStatePath(gitDir) === path) return;
  const file = statePathFile(gitDir);
  Deno.mkdirSync(dirname(file), { recursive: true });
  Deno.writeTextFileSync(`${file}.tmp`, `${path}\n`);
  Deno.renameSync(`${file}.tmp`, file);
}
