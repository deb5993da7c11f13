/** Finding the repository a command works on: its work tree, git dirs and branch, and the upstream that branch follows. */
import { resolve } from "node:path";
import { ExitCode, GitError } from "../errors.ts";
import type { GitClient } from "./git_client.ts";
import { stderrCause } from "./git_failure.ts";

/** Where the repository lives and which branch is checked out. */
export interface RepoInfo {
  /** Absolute path of the work tree root. */
  root: string;
  /** Absolute path of this work tree's git dir (holds `index.lock`, `MERGE_HEAD`). */
  gitDir: string;
  /** Absolute path of the common git dir (holds `info/exclude`). */
  gitCommonDir: string;
  /** Checked-out branch name, or undefined on a detached HEAD. */
  branch?: string;
}

/** The upstream a branch follows, as configured by `git branch -u`. */
export interface BranchUpstream {
  remote: string;
  /** Branch name on the remote, without `refs/heads/`. */
  branch: string;
}

/** Finds the work tree root, git dir and branch; a non-repository is a usage error (exit 2). */
export async function repoInfo(
  git: Pick<GitClient, "git" | "cwd">,
): Promise<RepoInfo> {
  let stdout: string;
  try {
    ({ stdout } = await git.git([
      "rev-parse",
      "--path-format=absolute",
      "--show-toplevel",
      "--git-dir",
      "--git-common-dir",
      "--abbrev-ref",
      "HEAD",
    ]));
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    const reason = /not a git repository/i.test(error.stderr)
      ? "not a git repository"
      : /ambiguous argument 'HEAD'|unknown revision/i.test(error.stderr)
      ? "the repository has no commits yet"
      : stderrCause(error.stderr);
    throw new GitError(`${git.cwd}: ${reason}`, {
      args: error.args,
      gitExitCode: error.gitExitCode,
      stderr: error.stderr,
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
  const [root, gitDir, gitCommonDir, branch] = stdout.trimEnd().split("\n");
  // resolve() turns git's `C:/x` into the platform's own `C:\x` on Windows.
  return {
    root: resolve(root),
    gitDir: resolve(gitDir),
    gitCommonDir: resolve(gitCommonDir),
    branch: branch === "HEAD" ? undefined : branch,
  };
}

/** The configured upstream of a local branch, if any. */
export async function branchUpstream(
  git: Pick<GitClient, "git">,
  branch: string,
): Promise<BranchUpstream | undefined> {
  const { stdout } = await git.git([
    "for-each-ref",
    "--format=%(upstream:remotename)%00%(upstream)",
    `refs/heads/${branch}`,
  ]);
  const [remote, upstreamRef] = stdout.trim().split("\0");
  if (!remote || !upstreamRef) return undefined;
  // `%(upstream)` is the remote-tracking ref; the branch name on the remote comes from config.
  const merge = await git.git(
    ["config", "--get", `branch.${branch}.merge`],
    { okExitCodes: [1] },
  );
  const mergeRef = merge.stdout.trim();
  if (!mergeRef.startsWith("refs/heads/")) return undefined;
  return { remote, branch: mergeRef.slice("refs/heads/".length) };
}
