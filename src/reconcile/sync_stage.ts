/**
 * The sync stage of a cycle (docs/design.md#sync): repair what a crash left in
 * the clone, fetch, verify the fetched commit, move the work tree, and read the
 * repository configuration again when it moved.
 * @module
 */
import { REPO_CONFIG_FILE } from "../config/types.ts";
import { GitError } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import { recordRewind } from "../state/rewinds.ts";
import {
  type Rejection,
  VerificationError,
} from "../verify/verification_error.ts";
import { repairClone } from "./clone_repair.ts";
import type { AgentDeps } from "./agent_deps.ts";
import { type Reloaded, reloadRepoConfig } from "./config_reload.ts";
import { fetchAndMove } from "./fetch_and_move.ts";
import type { SyncResult } from "../results/cycle_result.ts";

/** What the sync stage works with (a subset of the agent's dependencies). */
export type SyncStageDeps = Pick<
  AgentDeps,
  | "git"
  | "store"
  | "logger"
  | "now"
  | "gitDir"
  | "remote"
  | "branch"
  | "verifier"
  | "config"
  | "repoRoot"
>;

/** Options of {@link syncStage}: `move: false` only reports the upstream commit. */
export interface SyncStageOptions {
  fetch: boolean;
  move: boolean;
  signal?: AbortSignal;
  /**
   * Starts object-only questions about the fetched commit while the work tree
   * moves, into the client's read cache (`GitClient.reads`); the caller drops
   * what no question took once the plan or cycle is over.
   */
  readAhead?: (before: string, upstream: string) => void;
}

/** Where the sync stage left the work tree. */
export interface Synced {
  sync: SyncResult;
  /** The commit services are compared against. */
  head: string;
  /** Set when a plan (not moving) found the fetched commit would be refused. */
  rejection?: Rejection;
  /** Set when the configuration was read again: whether it was put in effect or refused. */
  reloaded?: Reloaded;
}

/**
 * Brings the work tree to the fetched commit (or, not moving, only looks at
 * it); when it moved, the configuration read there is put in effect.
 */
export async function syncStage(
  deps: SyncStageDeps,
  options: SyncStageOptions,
): Promise<Synced> {
  const { git, verifier } = deps;
  if (options.move) await repairClone(deps);
  let rejection: Rejection | undefined;
  const sync = await fetchAndMove(git, {
    remote: deps.remote,
    branch: deps.branch,
    mode: deps.config.current.sync,
    fetch: options.fetch,
    move: options.move,
    signal: options.signal,
    gitDir: deps.gitDir,
    whileMoving: options.readAhead,
    verify: verifier?.enabled
      ? async (before, upstream) => {
        const verdict = await verifier.check(before, upstream, {
          record: options.move,
        });
        if (verdict.kind === "verified") return;
        // A cycle stops here; a plan reports what the cycle would refuse.
        if (options.move) throw new VerificationError(verdict.rejection);
        rejection = verdict.rejection;
      }
      : undefined,
  });
  if (sync.rewound) {
    deps.logger.warn("{rewind} (a rewind or force-push)", {
      rewind: rewindText({ from: sync.before, to: sync.after }),
    });
    if (!deps.store.readOnly) {
      recordRewind(deps.store, {
        from: sync.before,
        to: sync.after,
        at: deps.now(),
      });
    }
  }
  const head = options.move ? sync.after : sync.upstream;
  let reloaded: Reloaded | undefined;
  if (
    sync.after !== sync.before &&
    await configMayDiffer(deps, sync.before, sync.after)
  ) {
    reloaded = await reloadRepoConfig(deps, sync.after);
    deps.config.replace(reloaded.config);
  }
  return { sync, head, rejection, reloaded };
}

/** `sync: reset moved the work tree from … to …, which does not descend from it`. */
export function rewindText(rewind: { from: string; to: string }): string {
  return `sync: reset moved the work tree from ${shortCommit(rewind.from)} to ${
    shortCommit(rewind.to)
  }, which does not descend from it`;
}

/**
 * Whether the repository configuration at `after` may differ from the one at
 * `before`: a committed file that did not change between them reads the same
 * (the diff is the one the plan asks for); a file outside git is read again.
 */
async function configMayDiffer(
  deps: SyncStageDeps,
  before: string,
  after: string,
): Promise<boolean> {
  if (!deps.config.fromGit) return true;
  try {
    const changed = (await deps.git.changedPathsFrom([before], after))
      .get(before)!;
    return changed.includes(REPO_CONFIG_FILE);
  } catch (error) {
    if (error instanceof GitError) return true;
    throw error;
  }
}
