/** Running `git` for the agent: one method per question it asks, each one process. */
import { join, resolve, sep } from "node:path";
import { ExitCode, GitError } from "../errors.ts";
import type { ProcessRunner } from "../process/types.ts";
import { readBlobBatch } from "./blob_batch.ts";
import { DiffMemo } from "./diff_memo.ts";
import { gitFailure, stderrCause } from "./git_failure.ts";
import {
  folderFileChanges,
  parseRawDiffSections,
  parseTopLevelTrees,
  parseTreeEntries,
  type PathChange,
  type TreeEntry,
} from "./tree_listing.ts";

export type { TreeEntry } from "./tree_listing.ts";

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

/** Options of {@link GitClient.git}. */
export interface GitCallOptions {
  /** Exit codes that are expected answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  okExitCodes?: readonly number[];
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Extra environment for this call only (e.g. `GIT_INDEX_FILE`). */
  env?: Record<string, string>;
}

/** Default limit for a network git command, so a stalled remote cannot stall the agent. */
const NETWORK_TIMEOUT_MS = 10 * 60_000;
/** Default limit for a local git command. */
const LOCAL_TIMEOUT_MS = 2 * 60_000;

/**
 * A diff's paths, one list per diff: the plan groups each list once, and
 * asking again for the same diff gets the same list.
 */
function pathsOf(section: readonly PathChange[]): string[] {
  let paths = pathLists.get(section);
  if (!paths) {
    paths = section.map((change) => change.path);
    pathLists.set(section, paths);
  }
  return paths;
}

const pathLists = new WeakMap<readonly PathChange[], string[]>();

/** Thin client over the system `git`, run through the project's single process runner. */
export class GitClient {
  readonly #runner: ProcessRunner;
  readonly #cwd: string;
  readonly #env: Record<string, string>;
  /** Number of git processes started by this client (the benchmark and tests count idle-cycle cost with it). */
  spawned = 0;
  /** Answers started ahead by {@link prefetch}, by call; each is taken by the first identical call. */
  readonly #prefetched = new Map<
    string,
    Promise<{ stdout: string; exitCode: number }>
  >();
  #prefetching = false;
  readonly #diffs = new DiffMemo((bases, to) => this.#rawDiffs(bases, to));

  constructor(
    runner: ProcessRunner,
    options: { cwd: string; env?: Record<string, string> },
  ) {
    this.#runner = runner;
    this.#cwd = options.cwd;
    // A credential prompt would hang a daemon forever; fail instead.
    this.#env = {
      GIT_TERMINAL_PROMPT: "0",
      // Git Credential Manager (Windows, macOS) may open a dialog despite GIT_TERMINAL_PROMPT.
      GCM_INTERACTIVE: "never",
      // A `refs/replace` object would swap a verified commit's tree for another.
      GIT_NO_REPLACE_OBJECTS: "1",
      ...options.env,
    };
  }

  /** Runs `git args…`; returns stdout, or throws a {@link GitError} with redacted stderr. */
  async git(
    args: readonly string[],
    options: GitCallOptions = {},
  ): Promise<{ stdout: string; exitCode: number }> {
    if (this.#prefetched.size === 0 && !this.#prefetching) {
      return await this.#run(args, options);
    }
    const key = JSON.stringify([
      args,
      options.stdin ?? null,
      options.env ?? {},
    ]);
    const ahead = this.#prefetched.get(key);
    if (ahead) {
      this.#prefetched.delete(key);
      return await ahead;
    }
    if (this.#prefetching) {
      const started = this.#run(args, options);
      // Never an unhandled rejection: the caller that takes it sees the error.
      started.catch(() => {});
      this.#prefetched.set(key, started);
      return await started;
    }
    return await this.#run(args, options);
  }

  /**
   * Starts the git process of `work` now, for an identical call later to take
   * its answer: for questions about git objects only (full commit ids), whose
   * answer cannot change in between. `work` is one call that starts one
   * process (before its first `await`); {@link dropPrefetched} forgets the
   * answers no call took.
   */
  prefetch(work: (git: GitClient) => Promise<unknown>): void {
    this.#prefetching = true;
    try {
      work(this).catch(() => {});
    } finally {
      this.#prefetching = false;
    }
  }

  /** Forgets the prefetched answers no call took. */
  dropPrefetched(): void {
    this.#prefetched.clear();
  }

  async #run(
    args: readonly string[],
    options: GitCallOptions,
  ): Promise<{ stdout: string; exitCode: number }> {
    this.spawned++;
    const result = await this.#runner.run(
      { kind: "argv", argv: ["git", ...args] },
      {
        cwd: this.#cwd,
        env: options.env ? { ...this.#env, ...options.env } : this.#env,
        output: "collect",
        stdin: options.stdin,
        timeoutMs: options.timeoutMs ?? LOCAL_TIMEOUT_MS,
        signal: options.signal,
        // Callers parse the output: it is read to its end or the call fails.
        drain: "eof",
      },
    );
    const exitCode = result.exitCode ?? -1;
    // Output that did not reach its end is never an answer, whatever the exit code.
    const answered = result.outputComplete && !result.timedOut &&
      !result.interrupted;
    if (
      answered &&
      (result.success || options.okExitCodes?.includes(exitCode))
    ) {
      return { stdout: result.stdout, exitCode };
    }
    throw gitFailure(args, result);
  }

  /** Finds the work tree root, git dir and branch; a non-repository is a usage error (exit 2). */
  async repoInfo(): Promise<RepoInfo> {
    let stdout: string;
    try {
      ({ stdout } = await this.git([
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
      throw new GitError(`${this.#cwd}: ${reason}`, {
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
  async branchUpstream(branch: string): Promise<BranchUpstream | undefined> {
    const { stdout } = await this.git([
      "for-each-ref",
      "--format=%(upstream:remotename)%00%(upstream)",
      `refs/heads/${branch}`,
    ]);
    const [remote, upstreamRef] = stdout.trim().split("\0");
    if (!remote || !upstreamRef) return undefined;
    // `%(upstream)` is the remote-tracking ref; the branch name on the remote comes from config.
    const merge = await this.git(
      ["config", "--get", `branch.${branch}.merge`],
      { okExitCodes: [1] },
    );
    const mergeRef = merge.stdout.trim();
    if (!mergeRef.startsWith("refs/heads/")) return undefined;
    return { remote, branch: mergeRef.slice("refs/heads/".length) };
  }

  /** Fetches one branch of a remote into its remote-tracking ref. */
  async fetch(
    remote: string,
    branch: string,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.git(
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        remote,
        `+refs/heads/${branch}:${trackingRef(remote, branch)}`,
      ],
      { timeoutMs: NETWORK_TIMEOUT_MS, signal },
    );
  }

  /** Resolves several revisions to commit ids in one process. */
  async revParse(revs: readonly string[]): Promise<string[]> {
    const { stdout } = await this.git([
      "rev-parse",
      ...revs.map((rev) => `${rev}^{commit}`),
    ]);
    return stdout.trim().split("\n");
  }

  /** True when `ancestor` is an ancestor of (or equal to) `descendant`. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await this.git(
      ["merge-base", "--is-ancestor", ancestor, descendant],
      { okExitCodes: [1] },
    );
    return exitCode === 0;
  }

  /** Of several commits, those no other one of them descends from (`merge-base --independent`), in one process. */
  async independentCommits(commits: readonly string[]): Promise<string[]> {
    if (commits.length <= 1) return [...commits];
    const { stdout } = await this.git([
      "merge-base",
      "--independent",
      ...commits,
    ]);
    return stdout.split("\n").filter((line) => line !== "");
  }

  /**
   * Whether any tracked file differs from HEAD, staged or not (untracked files
   * never count): one `diff-index --quiet`, which only reads.
   */
  async hasLocalChanges(): Promise<boolean> {
    const { exitCode } = await this.git(
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
  async modifiedTrackedFiles(): Promise<string[]> {
    if (!(await this.hasLocalChanges())) return [];
    const { stdout } = await this.git([
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
  async mergeFastForward(commit: string): Promise<void> {
    // The fetch before it has already run `git maintenance run --auto`; a
    // second one after the merge would only delay the first command.
    await this.git([
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
  async undoFastForward(current: string, previous: string): Promise<void> {
    await this.git(["read-tree", "-m", "-u", current, previous]);
    await this.git([
      "update-ref",
      "-m",
      "upstream-watch: back, the work tree has uncommitted changes",
      "HEAD",
      previous,
      current,
    ]);
  }

  /** Hard-resets the work tree to `commit` (untracked files are kept). */
  async resetHard(commit: string): Promise<void> {
    await this.git(["reset", "--hard", "--quiet", commit]);
  }

  /**
   * What changed from each of several commits to `to`, each pair asked of git
   * once ({@link DiffMemo}); one process for every base it does not know.
   */
  changesFrom(
    bases: readonly string[],
    to: string,
  ): Promise<Map<string, PathChange[]>> {
    return this.#diffs.changesFrom(bases, to);
  }

  /** `git diff-tree --stdin --raw` from each base to `to`, in one process. */
  async #rawDiffs(
    bases: readonly string[],
    to: string,
  ): Promise<Map<string, PathChange[]>> {
    const { stdout } = await this.git(
      [
        "diff-tree",
        "--stdin",
        "-r",
        "-z",
        "--raw",
        "--no-renames",
        "--no-ext-diff",
        // Print each base's header even when nothing changed, to keep the sections apart.
        "--always",
      ],
      // `<commit> <parent>`: each line is `to` against one base.
      { stdin: bases.map((base) => `${to} ${base}\n`).join("") },
    );
    return parseRawDiffSections(stdout, to, bases);
  }

  /**
   * Paths changed from each of several commits to `to` ({@link changesFrom});
   * moved files count at both paths.
   */
  async changedPathsFrom(
    bases: readonly string[],
    to: string,
  ): Promise<Map<string, string[]>> {
    const changes = await this.changesFrom(bases, to);
    return new Map(
      [...changes].map(([base, section]) => [base, pathsOf(section)]),
    );
  }

  /**
   * The `<folder>/<fileName>` files that differ between two commits, each with
   * its mode at `to` (null when deleted), from {@link changesFrom}; undefined
   * when the difference is not that simple (a tree or a submodule at such a
   * path), so the caller lists `to` whole.
   */
  async changedFolderFiles(
    from: string,
    to: string,
    fileName: string,
  ): Promise<Map<string, string | null> | undefined> {
    const changes = await this.changesFrom([from], to);
    return folderFileChanges(changes.get(from)!, fileName);
  }

  /** Which of the given commit ids exist in the object database, in one process. */
  async existingCommits(commits: readonly string[]): Promise<Set<string>> {
    const types = await this.objectTypes(
      commits.map((commit) => `${commit}^{commit}`),
    );
    return new Set(commits.filter((_, index) => types[index] === "commit"));
  }

  /** Commits in `from..to` touching `paths`, newest first (all of `to`'s history when `from` is undefined). */
  async commitsTouching(
    options: {
      from?: string;
      to: string;
      paths: readonly string[];
      limit: number;
    },
  ): Promise<{ commit: string; subject: string }[]> {
    const range = options.from ? `${options.from}..${options.to}` : options.to;
    const { stdout } = await this.git([
      "log",
      `--max-count=${options.limit}`,
      "--format=%H%x00%s",
      "--no-renames",
      range,
      "--",
      ...options.paths,
    ]);
    return stdout.split("\n").filter((line) => line !== "").map((line) => {
      const [commit, subject] = line.split("\0");
      return { commit, subject };
    });
  }

  /** A commit's parents and subject; reads no tree, whatever the size of the repository. */
  async commitHeader(
    commit: string,
  ): Promise<{ parents: string[]; subject: string }> {
    const { stdout } = await this.git([
      "log",
      "-1",
      "--no-walk",
      "--format=%P%x00%s",
      commit,
    ]);
    const [parents, subject] = stdout.replace(/\n$/, "").split("\0");
    return { parents: parents.split(" ").filter((id) => id !== ""), subject };
  }

  /** Top-level folders of a commit's tree with their tree ids (so that lookups inside them need not re-read the root tree). */
  async topLevelTrees(
    commit: string,
  ): Promise<{ name: string; tree: string }[]> {
    const { stdout } = await this.git(["ls-tree", "-z", "-d", commit]);
    return parseTopLevelTrees(stdout);
  }

  /** Object id of each revision that names a blob, else null; one process. */
  async blobIds(revs: readonly string[]): Promise<(string | null)[]> {
    if (revs.length === 0) return [];
    const { stdout } = await this.git(
      ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
      { stdin: revs.map((rev) => `${rev}\n`).join("") },
    );
    return stdout.split("\n").slice(0, revs.length).map((line) => {
      const [id, type] = line.split(" ");
      return type === "blob" ? id : null;
    });
  }

  /**
   * Tree entries at `commit` for the given repo-relative paths, with mode and
   * size, in one process; paths that do not exist are left out.
   */
  async treeEntries(
    commit: string,
    paths: readonly string[],
  ): Promise<Map<string, TreeEntry>> {
    if (paths.length === 0) return new Map();
    const { stdout } = await this.git(
      ["ls-tree", "-z", "-l", "--full-tree", commit, "--", ...paths],
      // A folder named `*` or `:x` is a name, not a pattern or pathspec magic.
      { env: { GIT_LITERAL_PATHSPECS: "1" } },
    );
    return parseTreeEntries(stdout);
  }

  /**
   * The contents of several blobs as text, in one process (`git cat-file
   * --batch`); a blob that is not valid UTF-8 maps to null.
   */
  readBlobs(
    blobs: readonly { id: string; size: number }[],
  ): Promise<Map<string, string | null>> {
    return readBlobBatch(this, blobs);
  }

  /** Object type (`blob`, `tree`, `commit`) of each revision, or null when it does not exist; one process. */
  async objectTypes(revs: readonly string[]): Promise<(string | null)[]> {
    if (revs.length === 0) return [];
    const { stdout } = await this.git(
      ["cat-file", "--batch-check=%(objecttype)"],
      { stdin: revs.map((rev) => `${rev}\n`).join("") },
    );
    return stdout.split("\n").slice(0, revs.length).map((line) =>
      line.endsWith(" missing") || line.endsWith(" ambiguous") ? null : line
    );
  }

  /**
   * Writes the files of `path` at `commit` under `destination/path`, without
   * touching the work tree or its index (a throwaway index file is used).
   */
  async exportFolder(
    commit: string,
    path: string,
    destination: string,
  ): Promise<void> {
    const env = { GIT_INDEX_FILE: join(destination, ".upstream-watch-index") };
    await this.git(["read-tree", `${commit}:${path}`], { env });
    await this.git(
      ["checkout-index", "--all", `--prefix=${join(destination, path)}${sep}`],
      { env },
    );
    await Deno.remove(env.GIT_INDEX_FILE);
  }

  /** A file's text at a commit. */
  async showFile(commit: string, path: string): Promise<string> {
    const { stdout } = await this.git(["show", `${commit}:${path}`]);
    return stdout;
  }

  /** Subject line of a commit. */
  async subject(commit: string): Promise<string> {
    const { stdout } = await this.git(["log", "-1", "--format=%s", commit]);
    return stdout.trim();
  }
}

/** The remote-tracking ref a fetch of `branch` from `remote` updates. */
export function trackingRef(remote: string, branch: string): string {
  return `refs/remotes/${remote}/${branch}`;
}
