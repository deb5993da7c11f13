/**
 * The sync stage of a cycle (docs/design.md#sync): repair what a crash left in
 * the clone, fetch, verify the fetched commit, move the work tree, and read the
 * repository configuration again when it moved.
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import type { Logger } from "../log/logging.ts";
import type { CommitVerifier } from "../verify/verifier.ts";
import {
  type Rejection,
  VerificationError,
} from "../verify/verification_error.ts";
import { repairClone } from "./clone_repair.ts";
import { type ConfigSource, reloadRepoConfig } from "./config_reload.ts";
import { syncRepository, type SyncResult } from "./sync.ts";

/** What the sync stage works with (a subset of the agent's dependencies). */
export interface SyncStageDeps extends ConfigSource {
  git: GitClient;
  logger: Logger;
  now: () => number;
  gitDir: string;
  remote: string;
  branch: string;
  verifier?: CommitVerifier;
}

/** Options of {@link syncStage}: `move: false` only reports the upstream commit. */
export interface SyncStageOptions {
  fetch: boolean;
  move: boolean;
  signal?: AbortSignal;
  /** Starts object-only questions about the fetched commit while the work tree moves. */
  whileMoving?: (before: string, upstream: string) => void;
}

/** Where the sync stage left the work tree, and the configuration in effect there. */
export interface Synced {
  sync: SyncResult;
  /** The commit services are compared against. */
  head: string;
  config: RepoConfig;
  /** Set when a plan (not moving) found the fetched commit would be refused. */
  rejection?: Rejection;
}

/** Brings the work tree to the fetched commit (or, not moving, only looks at it). */
export async function syncStage(
  deps: SyncStageDeps,
  config: RepoConfig,
  options: SyncStageOptions,
): Promise<Synced> {
  const { git, verifier } = deps;
  if (options.move) await repairClone(deps);
  let rejection: Rejection | undefined;
  const sync = await syncRepository(git, {
    remote: deps.remote,
    branch: deps.branch,
    mode: config.sync,
    fetch: options.fetch,
    move: options.move,
    signal: options.signal,
    gitDir: deps.gitDir,
    whileMoving: options.whileMoving,
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
  const head = options.move ? sync.after : sync.upstream;
  if (sync.after !== sync.before) {
    config = await reloadRepoConfig(deps, config, sync.after);
  }
  return { sync, head, config, rejection };
}
