/** Repairing what a crash left in the clone before the work tree moves (docs/design.md#state-and-crash-recovery). */
import { join } from "node:path";
import type { GitClient } from "../git/git_client.ts";
import type { Logger } from "../log/logging.ts";

/** A stale `index.lock` is one older than this. */
const STALE_INDEX_LOCK_MS = 10_000;

/** A stale index.lock or an unfinished merge left by a crash is repaired, untracked files untouched. */
export async function repairClone(deps: {
  git: GitClient;
  logger: Logger;
  now: () => number;
  /** Absolute git dir of the work tree. */
  gitDir: string;
}): Promise<void> {
  const { gitDir, logger } = deps;
  const indexLock = join(gitDir, "index.lock");
  try {
    const info = await Deno.stat(indexLock);
    const ageMs = deps.now() - (info.mtime?.getTime() ?? 0);
    // A live git holds the lock for milliseconds; an old one was left by a killed git.
    if (ageMs > STALE_INDEX_LOCK_MS) {
      logger.warn(
        "removing stale {file} left by a killed git process ({seconds} s old)",
        { file: indexLock, seconds: Math.round(ageMs / 1000) },
      );
      await Deno.remove(indexLock);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    await Deno.stat(join(gitDir, "MERGE_HEAD"));
    logger.warn("aborting an unfinished merge left in the clone");
    await deps.git.git(["merge", "--abort"]);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
