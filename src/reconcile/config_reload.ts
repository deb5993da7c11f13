/** Reading the repository configuration again after the work tree moved. */
import type { ConfigInEffect } from "../config/config_in_effect.ts";
import { loadCommittedRepoConfig } from "../config/committed.ts";
import { loadRepoConfig } from "../config/load.ts";
import type { RepoConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { Logger } from "../log/logging.ts";

/** The configuration at `commit`; an invalid one is logged and the one in effect kept. The state file never moves while running. */
export async function reloadRepoConfig(
  source: { git: GitClient; logger: Logger; config: ConfigInEffect },
  commit: string,
): Promise<RepoConfig> {
  const current = source.config.current;
  const location = source.config;
  try {
    const { config, warnings } = location.fromGit
      ? await loadCommittedRepoConfig(source.git, commit)
      : await loadRepoConfig(location.path, location.file);
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
