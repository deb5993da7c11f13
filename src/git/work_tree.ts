/**
 * The git commands that read or move the work tree itself: the check for
 * local changes, the fast-forward and its undo, the hard reset. Everything
 * else the agent asks git is about objects only.
 * @module
 */
import type { GitClient } from "./git_client.ts";

/**
 * Whether any tracked file differs from HEAD, staged or not (untracked files
 * never count): one `diff-index --quiet`, which only reads.
 */
export async function hasLocalChanges(
  git: Pick<GitClient, "git">,
): Promise<boolean> {
  const { exitCode } = await git.git(
    ["diff-index", "--quiet", "--ignore-submodules=none", "HEAD", "--"],
    { okExitCodes: [1] },
  );
  return exitCode !== 0;
}

/**
 * Tracked files with uncommitted changes (untracked files never count). A
 * clean tree, the usual case, is answered by `diff-index --quiet`, which
 * costs less than `status`; `status` names the files only when it is not.
 */
export async function modifiedTrackedFiles(
  git: Pick<GitClient, "git">,
): Promise<string[]> {
  if (!(await hasLocalChanges(git))) return [];
  const { stdout } = await git.git([
    "status",
    "--porcelain=v1",
    "-z",
    "--untracked-files=no",
    "--ignore-submodules=none",
  ]);
  return stdout.split("\0").filter((entry) => entry !== "").map((entry) =>
    entry.slice(3)
  );
}

/**
 * Moves HEAD to `commit` only if that is a fast-forward; git itself refuses
 * otherwise (a {@link GitError}). Succeeds without moving when `commit` is
 * already contained in HEAD.
 */
export async function mergeFastForward(
  git: Pick<GitClient, "git">,
  commit: string,
): Promise<void> {
  // The fetch before it has already run `git maintenance run --auto`; a
  // second one after the merge would only delay the first command.
  await git.git([
    "-c",
    "maintenance.auto=false",
    "merge",
    "--ff-only",
    "--quiet",
    "--no-stat",
    commit,
  ]);
}

/**
 * Puts HEAD back from `current` to `previous` after a fast-forward, changing
 * only the files that differ between the two: local changes to other files,
 * staged or not, stay as they were (a two-way `read-tree -m -u`, as the
 * fast-forward itself did, then HEAD).
 */
export async function undoFastForward(
  git: Pick<GitClient, "git">,
  current: string,
  previous: string,
): Promise<void> {
  await git.git(["read-tree", "-m", "-u", current, previous]);
  await git.git([
    "update-ref",
    "-m",
    "upstream-watch: back, the work tree has uncommitted changes",
    "HEAD",
    previous,
    current,
  ]);
}

/** Hard-resets the work tree to `commit` (untracked files are kept). */
export async function resetHard(
  git: Pick<GitClient, "git">,
  commit: string,
): Promise<void> {
  await git.git(["reset", "--hard", "--quiet", commit]);
}
