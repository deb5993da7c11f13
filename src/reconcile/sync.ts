import { shortCommit } from "../git/commit_id.ts";
import { stderrCause } from "../git/git_failure.ts";
import { GitError, SyncError } from "../errors.ts";
import type { SyncMode } from "../config/types.ts";
import { type GitClient, trackingRef } from "../git/git_client.ts";
import { headCommitFromFiles, refCommitFromFiles } from "../git/head_file.ts";

/** Where the work tree was before and after a sync. */
export interface SyncResult {
  before: string;
  after: string;
  /** The commit fetched from the remote (equals `after` unless nothing moved). */
  upstream: string;
  /** `sync: reset` moved to a commit that does not descend from `before` (a force-push, a rewind). */
  rewound?: boolean;
}

/** Options of {@link syncRepository}. */
export interface SyncOptions {
  remote: string;
  branch: string;
  mode: SyncMode;
  /** `false` skips the fetch (plan --no-fetch, tests of offline behaviour). */
  fetch: boolean;
  /** `false` leaves the work tree alone and only reports the upstream commit. */
  move: boolean;
  signal?: AbortSignal;
  /** Checks the fetched commit before the work tree moves; throws to keep it where it is. */
  verify?: (before: string, upstream: string) => Promise<void>;
  /** The work tree's git dir: HEAD after a fast-forward is read from its files when it can be. */
  gitDir?: string;
  /** Called once the work tree is about to move (before the fetched commit is checked), to start object-only questions about `upstream` meanwhile. */
  whileMoving?: (before: string, upstream: string) => void;
}

/** Fetch, then fast-forward or hard-reset the work tree to the fetched commit (docs/design.md#sync). */
export async function syncRepository(
  git: GitClient,
  options: SyncOptions,
): Promise<SyncResult> {
  const upstreamRef = trackingRef(options.remote, options.branch);
  if (options.fetch) {
    try {
      await git.fetch(options.remote, options.branch, options.signal);
    } catch (error) {
      if (!(error instanceof GitError)) throw error;
      throw new SyncError(
        `cannot fetch ${options.branch} from ${options.remote}: ${
          gitErrorReason(error.stderr) || error.message
        }`,
        { cause: error },
      );
    }
  }
  let before: string;
  let upstream: string;
  try {
    [before, upstream] = await resolveRefs(git, options.gitDir, upstreamRef);
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    throw new SyncError(
      `cannot resolve ${options.remote}/${options.branch}: ${
        gitErrorReason(error.stderr) || error.message
      }${options.fetch ? "" : " (has it ever been fetched?)"}`,
      { cause: error },
    );
  }
  const moving = before !== upstream && options.move;
  // The dirty check reads only the work tree, the index and HEAD, so it runs
  // beside the checks of the fetched commit and the merge itself; `changed`
  // holds its answer once it is in. A failed check counts as "changed": the
  // files are then asked for again, which reports the failure.
  let changed: boolean | undefined;
  const localChanges = moving && options.mode !== "reset"
    ? git.hasLocalChanges().then(
      (answer) => (changed = answer),
      () => (changed = true),
    )
    : undefined;
  const merge = () =>
    git.mergeFastForward(upstream).then(() => undefined, (error) => error);
  // With no check of the fetched commit to wait for, the merge starts at once
  // and what is read ahead starts beside it.
  let merging: Promise<unknown> | undefined = localChanges && !options.verify
    ? merge()
    : undefined;
  // A reset may move anywhere: whether it moves back is asked beside the checks.
  const descends = moving && options.mode === "reset"
    ? git.isAncestor(before, upstream)
    : undefined;
  descends?.catch(() => {});
  // What is read ahead is used only once the fetched commit has passed.
  if (moving) options.whileMoving?.(before, upstream);
  await options.verify?.(before, upstream);
  if (!moving) return { before, after: before, upstream };
  if (descends) {
    const rewound = !(await wrapGit(() => descends, "cannot compare commits"));
    await wrapGit(() => git.resetHard(upstream), "cannot reset the work tree");
    return { before, after: upstream, upstream, rewound };
  }
  if (!merging) {
    if (changed) await refuseLocalChanges(git);
    merging = merge();
  }
  // `merge --ff-only` refuses a diverged HEAD itself; the ancestry is asked
  // only to word that refusal, and HEAD read back only when the merge was a
  // no-op (an upstream already contained in HEAD is refused too).
  const diverged = new SyncError(
    `local HEAD ${
      shortCommit(before)
    } has diverged from ${options.remote}/${options.branch} ${
      shortCommit(upstream)
    }; refusing to update with sync: ff-only (set sync: reset to follow the remote exactly)`,
  );
  // A clean answer of a check that overlapped the merge is exact: a file the
  // merge rewrites may read as changed while it is written, never the other
  // way round, and the merge itself refuses to overwrite a changed file. A
  // "changed" answer is asked again after the merge; when it stands, the
  // merge is undone, leaving the local edits (staged or not) alone.
  const [mergeFailure] = await Promise.all([merging, localChanges]);
  if (mergeFailure !== undefined) {
    if (!(mergeFailure instanceof GitError)) throw mergeFailure;
    if (changed) await refuseLocalChanges(git);
    if (!(await git.isAncestor(before, upstream))) throw diverged;
    throw new SyncError(
      `cannot fast-forward the work tree: ${
        gitErrorReason(mergeFailure.stderr) || mergeFailure.message
      }`,
      { cause: mergeFailure },
    );
  }
  const moved =
    (options.gitDir ? headCommitFromFiles(options.gitDir) : undefined) ??
      (await git.revParse(["HEAD"]))[0];
  if (changed) {
    await refuseLocalChanges(git, async () => {
      if (moved !== upstream) return;
      await wrapGit(
        () => git.undoFastForward(upstream, before),
        `cannot move the work tree back to ${shortCommit(before)}`,
      );
    });
  }
  if (moved !== upstream) throw diverged;
  return { before, after: upstream, upstream };
}

/**
 * HEAD and the tracking ref: read from the git dir's ref files when both are
 * there (the fetch has just written the tracking ref), else from git.
 */
async function resolveRefs(
  git: GitClient,
  gitDir: string | undefined,
  upstreamRef: string,
): Promise<[string, string]> {
  if (gitDir) {
    const head = headCommitFromFiles(gitDir);
    const upstream = refCommitFromFiles(gitDir, upstreamRef);
    if (head && upstream) return [head, upstream];
  }
  const [head, upstream] = await git.revParse(["HEAD", upstreamRef]);
  return [head, upstream];
}

/**
 * Throws the refusal of a work tree with uncommitted changes to tracked
 * files, after `undo` (putting HEAD back), when there are any.
 */
async function refuseLocalChanges(
  git: GitClient,
  undo?: () => Promise<void>,
): Promise<void> {
  const modified = await git.modifiedTrackedFiles();
  if (modified.length === 0) return;
  await undo?.();
  const shown = modified.slice(0, 5).join(", ") +
    (modified.length > 5 ? `, … (${modified.length} files)` : "");
  throw new SyncError(
    `work tree has uncommitted changes to tracked files (${shown}); refusing to update with sync: ff-only (commit or revert them, or set sync: reset)`,
  );
}

async function wrapGit<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    throw new SyncError(
      `${what}: ${gitErrorReason(error.stderr) || error.message}`,
      {
        cause: error,
      },
    );
  }
}

/** The first non-empty line of git's stderr, without its `fatal:`/`error:` prefix. */
function gitErrorReason(text: string): string {
  return stderrCause(text, { withoutPrefix: true });
}
