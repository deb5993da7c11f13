/**
 * Configuration read from a commit's git objects rather than the work tree:
 * a symlink could point anywhere on the machine (or at an endless device), and a
 * file in the work tree may be in no commit at all.
 */
import { ConfigError } from "../errors.ts";
import type { GitClient, TreeEntry } from "../git/git_client.ts";
import { oversizeReason } from "./config_file.ts";
import { parseRepoConfig } from "./repo_config.ts";
import {
  type LoadedConfig,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "./types.ts";

/** Why a committed file cannot be configuration (symlink, not a file, too large), or undefined. */
export function committedFileProblem(entry: TreeEntry): string | undefined {
  if (entry.mode === "120000") {
    return "is a symlink in git; configuration must be a regular file (a symlink could point outside the repository)";
  }
  if (entry.type !== "blob") {
    return `is a ${entry.type} in git, not a regular file`;
  }
  return oversizeReason(entry.size ?? 0);
}

/** Reason given for a committed configuration file that is not UTF-8 text. */
export const NOT_UTF8 = "file is not valid UTF-8 text";

/**
 * The text of a configuration file as committed at `commit` (undefined when
 * absent); a symlink, a non-file, an oversized or non-UTF-8 file is a
 * ConfigError naming `displayFile`.
 */
export async function readCommittedConfig(
  git: GitClient,
  commit: string,
  path: string,
  displayFile = path,
): Promise<string | undefined> {
  const entry = (await git.treeEntries(commit, [path])).get(path);
  if (entry === undefined) return undefined;
  const problem = committedFileProblem(entry);
  if (problem) throw new ConfigError(problem, { file: displayFile });
  const text = (await git.readBlobs([{ id: entry.id, size: entry.size! }]))
    .get(entry.id);
  if (text === null || text === undefined) {
    throw new ConfigError(NOT_UTF8, { file: displayFile });
  }
  return text;
}

/** `.upstream-watch.yaml` as committed at `commit`; absent means all defaults. */
export async function loadCommittedRepoConfig(
  git: GitClient,
  commit: string,
): Promise<LoadedConfig<RepoConfig>> {
  const text = await readCommittedConfig(git, commit, REPO_CONFIG_FILE);
  return parseRepoConfig(text ?? "", REPO_CONFIG_FILE);
}
