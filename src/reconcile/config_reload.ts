/** Reading the repository configuration again after the work tree moved. */
import { loadCommittedRepoConfig } from "../config/committed.ts";
import { loadRepoConfig } from "../config/load.ts";
import type { RepoConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { Logger } from "../log/logging.ts";

/** Where the repository configuration is read from. */
export interface ConfigSource {
  git: GitClient;
  logger: Logger;
  /** True: read from the commit's git objects, not from `configPath`. */
  configFromGit: boolean;
  configPath: string;
  configDisplay: string;
}

/** The configuration at `commit`; an invalid one is logged and `current` kept. The state file never moves while running. */
export async function reloadRepoConfig(
  source: ConfigSource,
  current: RepoConfig,
  commit: string,
): Promise<RepoConfig> {
  try {
    const { config, warnings } = source.configFromGit
      ? await loadCommittedRepoConfig(source.git, commit)
      : await loadRepoConfig(source.configPath, source.configDisplay);
    logConfigWarnings(source.logger, warnings);
    if (config.stateFile !== current.stateFile) {
      source.logger.warn(
        "state_file changed to {stateFile}; the new path takes effect after a restart",
        { stateFile: config.stateFile },
      );
    }
    return { ...config, stateFile: current.stateFile };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    source.logger.error(
      "{error}; keeping the previous repository configuration",
      { error: error.message },
    );
    return current;
  }
}
