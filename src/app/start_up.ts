/**
 * What an agent does once when it starts, before any cycle: keep the state
 * file out of `git status`, migrate the Go tool's database, and recover from
 * a crash (runs left `running`, hooks that outlived the agent).
 * See docs/design.md#state-and-crash-recovery and docs/migrating-from-go.md.
 * @module
 */
import { isAbsolute, join, relative } from "node:path";
import type { RepoConfig } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import { stopLeftoverHooks } from "../hooks/leftover_hooks.ts";
import type { Logger } from "../log/logging.ts";
import {
  type LostStatePolicy,
  openGuardedState,
} from "../state/state_marker.ts";
import { runsLeftRunning } from "../state/run_records.ts";
import type { StateStore } from "../state/store.ts";
import { importLegacyState } from "./legacy_state.ts";

/** Options of {@link openStateAtStart}. */
export interface StartOptions {
  /** Absolute path of the state file. */
  file: string;
  repoRoot: string;
  gitDir: string;
  gitCommonDir: string;
  /** Read-only commands never create or change the state file. */
  readOnly: boolean;
  lostState: LostStatePolicy;
  /** Mark runs left `running` as interrupted; a writer beside the daemon (`suspend`) must not. */
  recoverRuns: boolean;
  git: GitClient;
  /**
   * The configuration the command starts with, settled once the state file
   * is open (the last good one it keeps stands in for a refused one at HEAD).
   */
  config: (store: StateStore) => Promise<RepoConfig>;
  logger: Logger;
}

/**
 * Opens the state file for a command, after keeping it out of `git status`
 * (writers only); then settles the configuration, migrates the Go tool's
 * records and recovers what a crash left running. A failure closes the file
 * again.
 */
export async function openStateAtStart(
  options: StartOptions,
): Promise<{ store: StateStore; config: RepoConfig }> {
  const { readOnly, logger } = options;
  if (!readOnly) {
    await excludeFromGit(options.repoRoot, options.gitCommonDir, options.file);
  }
  const store = openGuardedState({
    file: options.file,
    gitDir: options.gitDir,
    readOnly,
    lostState: options.lostState,
    logger,
  });
  try {
    const config = await options.config(store);
    if (store.legacyModules.length > 0) {
      await importLegacyState(store, options.git, config, logger);
    }
    if (!readOnly && options.recoverRuns) {
      await recoverInterruptedRuns(store, logger);
    }
    return { store, config };
  } catch (error) {
    store.close();
    throw error;
  }
}

/**
 * Runs left `running` by a crash or kill are marked interrupted (their
 * services run again), after their hooks that are still running are stopped:
 * an agent killed in between leaves them `running`, so the next one stops
 * them again instead of forgetting them.
 */
async function recoverInterruptedRuns(
  store: StateStore,
  logger: Logger,
): Promise<void> {
  // Before any cycle: a hook that outlived the crash must not run twice at once.
  // Only processes carrying this state file's run mark are this agent's.
  await stopLeftoverHooks(runsLeftRunning(store), logger, {
    stateId: store.stateId(),
  });
  const interrupted = store.markInterruptedRuns(Date.now());
  for (const run of interrupted) {
    logger.warn(
      "run {runId} of {service} was cut off by a crash or kill; marked interrupted, the service will run again",
      { runId: run.id, service: run.service },
    );
  }
}

/** Keeps the state file (and its WAL files) out of `git status` via `.git/info/exclude`. */
async function excludeFromGit(
  root: string,
  gitCommonDir: string,
  statePath: string,
): Promise<void> {
  const inside = relative(root, statePath);
  if (inside.startsWith("..") || isAbsolute(inside)) return;
  const pattern = `/${inside.split("\\").join("/")}*`;
  const excludeFile = join(gitCommonDir, "info", "exclude");
  let current = "";
  try {
    current = await Deno.readTextFile(excludeFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(join(gitCommonDir, "info"), { recursive: true });
  }
  if (current.split(/\r?\n/).includes(pattern)) return;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(
    excludeFile,
    `${current}${separator}# upstream-watch state\n${pattern}\n`,
  );
}
