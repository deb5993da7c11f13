/**
 * Reading the repository configuration (at start, and again after the work
 * tree moved): read, parsed and fully resolved before it is put in effect; a
 * configuration that fails keeps the last good one (docs/design.md#the-cycle).
 * @module
 */
import { readCommittedConfig } from "../config/committed.ts";
import { readConfigFile } from "../config/config_file.ts";
import { parseRepoConfig } from "../config/repo_config.ts";
import {
  type LoadedConfig,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "../config/types.ts";
import type {
  ConfigInEffect,
  ConfigLocation,
} from "../config/config_in_effect.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { shortCommit } from "../git/commit_id.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { Logger } from "../log/logging.ts";
import {
  type ConfigRefusal,
  saveConfigRefusal,
  saveLastGoodConfig,
} from "../state/config_record.ts";
import type { StateStore } from "../state/store.ts";
import { resolveRepoConfig } from "./config_resolution.ts";

/** Where the repository configuration is read from, and what it is resolved against. */
export interface ReaderSource {
  git: GitClient;
  logger: Logger;
  /** Where the file is, and how messages name it. */
  config: ConfigLocation;
  repoRoot: string;
}

/** What a reload needs: the configuration in effect, and the state file it records in. */
export interface ConfigSource extends ReaderSource {
  config: ConfigInEffect;
  store: StateStore;
  now: () => number;
}

/** A configuration read at a commit: parsed and resolved, with its text. */
export interface ReadConfig extends LoadedConfig<RepoConfig> {
  text: string;
}

/** Options of {@link readRepoConfig}. */
export interface ReadOptions {
  /** Resolve every `${VAR}` and path too (default); false only parses. */
  resolve?: boolean;
  /** The environment `${VAR}` is read from (default: the agent's). */
  env?: (name: string) => string | undefined;
}

/** Reads, parses and resolves the configuration at `commit` (or `configPath`); a ConfigError says why it cannot be used. */
export async function readRepoConfig(
  source: ReaderSource,
  commit: string,
  options: ReadOptions = {},
): Promise<ReadConfig> {
  const text =
    (source.config.fromGit
      ? await readCommittedConfig(source.git, commit, REPO_CONFIG_FILE)
      : await readConfigFile(source.config.path, source.config.file, {
        optional: true,
      })) ?? "";
  return { ...parseStoredConfig(source, text, options), text };
}

/** Parses and resolves a configuration's text (also the last good one, from the state file). */
export function parseStoredConfig(
  source: ReaderSource,
  text: string,
  options: ReadOptions = {},
): LoadedConfig<RepoConfig> {
  const loaded = parseRepoConfig(text, source.config.file);
  if (options.resolve === false) return loaded;
  resolveRepoConfig(loaded.config, {
    file: source.config.file,
    repoRoot: source.repoRoot,
    env: options.env ?? ((name) => Deno.env.get(name)),
  });
  return loaded;
}

/** The configuration in effect after a reload, and the refusal when the commit's could not be used. */
export interface Reloaded {
  config: RepoConfig;
  refused?: ConfigRefusal;
}

/**
 * The configuration at `commit`, recorded as the last good one; one that
 * cannot be used is logged at once and recorded as refused, and `current`
 * stays in effect. The state file never moves while running.
 */
export async function reloadRepoConfig(
  source: ConfigSource,
  commit: string,
): Promise<Reloaded> {
  const current = source.config.current;
  let read: ReadConfig;
  try {
    read = await readRepoConfig(source, commit);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    source.logger.error(
      "the repository configuration at {commit} cannot be used: {error}; keeping the last good configuration",
      { commit: shortCommit(commit), error: error.message },
    );
    const refused = { commit, error: error.message, since: source.now() };
    saveConfigRefusal(source.store, refused);
    return { config: current, refused };
  }
  logConfigWarnings(source.logger, read.warnings);
  if (read.config.stateFile !== current.stateFile) {
    source.logger.warn(
      "state_file changed to {stateFile}; the new path takes effect after a restart",
      { stateFile: read.config.stateFile },
    );
  }
  saveLastGoodConfig(source.store, { commit, text: read.text });
  saveConfigRefusal(source.store, undefined);
  return { config: { ...read.config, stateFile: current.stateFile } };
}
