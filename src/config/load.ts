/**
 * The entry points for loading `.upstream-watch.yaml` and `.update-hooks.yaml`
 * from disk or from text (docs/configuration.md): every error names file,
 * line, column and key path; unknown keys are warnings with a "did you mean"
 * hint.
 */
import { readConfigFile } from "./config_file.ts";
import { parseRepoConfig } from "./repo_config.ts";
import { parseServiceConfig } from "./service_config.ts";
import type { LoadedConfig, RepoConfig, ServiceConfig } from "./types.ts";

export { parseRepoConfig, parseServiceConfig };
export type { LoadedConfig };

/** Reads and parses `.upstream-watch.yaml`; a missing file means all defaults. */
export async function loadRepoConfig(
  path: string,
  displayFile: string,
): Promise<LoadedConfig<RepoConfig>> {
  const text = await readConfigFile(path, displayFile, { optional: true });
  return parseRepoConfig(text ?? "", displayFile);
}

/** Reads and parses a service's `.update-hooks.yaml`; a missing file is a ConfigError. */
export async function loadServiceConfig(
  path: string,
  displayFile: string,
): Promise<LoadedConfig<ServiceConfig>> {
  const text = await readConfigFile(path, displayFile, { optional: false });
  return parseServiceConfig(text ?? "", displayFile);
}
