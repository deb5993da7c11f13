/**
 * The repository configuration a command starts with: the one at HEAD,
 * resolved completely; or, when that one cannot be used, the last good one
 * kept in the state file (docs/design.md#the-cycle).
 * @module
 */
import { join, resolve } from "node:path";
import type { ConfigLocation } from "../config/config_in_effect.ts";
import { defaultRepoConfig } from "../config/defaults.ts";
import {
  type ConfigWarning,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import {
  parseStoredConfig,
  type ReaderSource,
  readRepoConfig,
} from "../reconcile/config_reload.ts";
import {
  configRefusal,
  lastGoodConfig,
  recordedStatePath,
  saveConfigRefusal,
  saveLastGoodConfig,
} from "../state/config_record.ts";
import type { StateStore } from "../state/store.ts";

/** Where the configuration comes from, and what it is resolved against. */
export type StartupSource = ReaderSource;

/** The configuration at HEAD as a command starts: in effect, or refused with the error that a fallback must answer. */
export type StartupConfig =
  | {
    kind: "loaded";
    config: RepoConfig;
    warnings: ConfigWarning[];
    text: string;
  }
  | { kind: "refused"; error: ConfigError };

/** Where the configuration file is and how messages name it (`--config`, else `<repo>/.upstream-watch.yaml` read from git). */
export async function configLocation(
  root: string,
  configOption: string | undefined,
): Promise<ConfigLocation> {
  const path = configOption
    ? resolve(configOption)
    : join(root, REPO_CONFIG_FILE);
  const file = configOption ?? REPO_CONFIG_FILE;
  if (configOption) {
    try {
      await Deno.stat(path);
    } catch {
      throw new ConfigError("configuration file not found", { file });
    }
  }
  // Without --config the repository's own configuration is read from the
  // commit's git objects: what is in the work tree may be in no commit.
  return { path, file, fromGit: !configOption };
}

/**
 * Reads the configuration at HEAD (from git's objects, or the `--config`
 * file). With `resolve`, every `${VAR}` and path is resolved too (commands
 * that deploy); read-only commands only parse it.
 */
export async function startupConfig(
  source: StartupSource,
  options: { resolve: boolean },
): Promise<StartupConfig> {
  try {
    const read = await readRepoConfig(source, "HEAD", {
      resolve: options.resolve,
    });
    logConfigWarnings(source.logger, read.warnings);
    return { kind: "loaded", ...read };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { kind: "refused", error };
  }
}

/** The state file the command opens when the configuration at HEAD cannot say: the one this clone used last, else the default. */
export function fallbackStatePath(root: string, gitDir: string): string {
  return recordedStatePath(gitDir) ??
    resolve(root, defaultRepoConfig().stateFile);
}

/**
 * The last good configuration from the state file, put in effect (loudly)
 * instead of the refused one at HEAD; the refusal is recorded for `status`,
 * `/healthz` and `config_invalid`. Without one, the refusal's own error.
 */
export function lastGoodStartupConfig(
  store: StateStore,
  source: StartupSource,
  refused: { head: string; error: ConfigError; resolve: boolean },
): RepoConfig {
  const record = lastGoodConfig(store);
  if (!record) throw refused.error;
  let config: RepoConfig;
  try {
    config = (parseStoredConfig(source, record.text, {
      resolve: refused.resolve,
    })).config;
  } catch (error) {
    if (error instanceof ConfigError) throw refused.error;
    throw error;
  }
  source.logger.error(
    "the repository configuration at {commit} cannot be used: {error}; starting with the last good configuration, from {goodCommit}",
    {
      commit: shortCommit(refused.head),
      error: refused.error.message,
      goodCommit: shortCommit(record.commit),
    },
  );
  // The same refusal as before the restart stays the one it was (notified once).
  if (
    !store.readOnly && configRefusal(store)?.error !== refused.error.message
  ) {
    saveConfigRefusal(store, {
      commit: refused.head,
      error: refused.error.message,
      since: Date.now(),
    });
  }
  return config;
}

/** Records the configuration a writing command started with as the last good one. */
export async function recordStartupConfig(
  store: StateStore,
  loaded: { head: () => Promise<string>; text: string },
): Promise<void> {
  if (store.readOnly) return;
  if (lastGoodConfig(store)?.text !== loaded.text) {
    saveLastGoodConfig(store, {
      commit: await loaded.head(),
      text: loaded.text,
    });
  }
  saveConfigRefusal(store, undefined);
}
