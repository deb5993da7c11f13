/**
 * Rolling a service back to its deployed commit after a failed deploy: its
 * tracked files are set to that commit for the length of the run, then the
 * folder is restored to HEAD. A crash in between is repaired at the next start.
 * @module
 */
import { dirname, resolve } from "node:path";
import { configEnvReferences } from "../config/env_references.ts";
import { parseServiceConfig } from "../config/load.ts";
import type { ServiceConfig } from "../config/types.ts";
import { errorMessage } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import type { GitClient } from "../git/git_client.ts";
import { secretsAt } from "../hooks/decrypt_step.ts";
import {
  configFailure,
  runHookSteps,
  type StepsOutcome,
} from "../hooks/run_steps.ts";
import {
  markRollbackFinished,
  markRollbackStarted,
  type RollbackRecord,
  rollbacks,
} from "../state/rollbacks.ts";
import type { RunReason, StepName, Trigger } from "../state/types.ts";
import type { StartedRun } from "./run_listener.ts";
import type { RunSummary } from "./cycle_types.ts";
import type { RunContext } from "./run_service.ts";
import type { ServiceEntry } from "./services.ts";

/** Steps whose failure is followed by a rollback (a failing `pre` changed nothing yet). */
const ROLLBACK_STEPS: readonly StepName[] = ["update", "post", "health"];

/** Whether a finished run must be followed by a rollback, and to which commit. */
export function rollbackTarget(
  summary: Pick<RunSummary, "outcome" | "failedStep">,
  service: {
    config?: ServiceConfig;
    deployedCommit: string | null;
    head: string;
  },
): string | undefined {
  if (summary.outcome !== "failed" || !service.config?.rollback) {
    return undefined;
  }
  if (!summary.failedStep || !ROLLBACK_STEPS.includes(summary.failedStep)) {
    return undefined;
  }
  // A first deploy has nothing to go back to; a redeploy of the deployed commit neither.
  if (service.deployedCommit === null) return undefined;
  if (service.deployedCommit === service.head) return undefined;
  return service.deployedCommit;
}

/** What a rollback works with: the context of every run, and the signal that interrupts it. */
export interface RollbackDeps extends RunContext {
  signal?: AbortSignal;
}

/** The failed run a rollback answers. */
export interface FailedDeploy {
  entry: ServiceEntry;
  /** The commit that failed (the cycle's HEAD). */
  failedCommit: string;
  failedRunId: number;
  /** The failed service revision, held afterwards. */
  revision: string;
  /** The commit to go back to. */
  deployedCommit: string;
  /**
   * Who asked: the agent after a failed deploy (default), an operator's
   * `rollback` (the commit rolled back to becomes the deployed one), or a heal
   * of a held service at the revision it runs (the hold and its record stay).
   */
  by?: "agent" | "operator" | { heal: string };
  /** The commit the work tree holds, when not the failed one (a heal after HEAD moved on). */
  headCommit?: string;
}

/** Runs the rollback of one failed deploy as a run of its own (trigger `rollback`). */
export async function runRollback(
  failed: FailedDeploy,
  deps: RollbackDeps,
): Promise<RunSummary> {
  const { git, store, logger, now } = deps;
  const { entry, deployedCommit, failedCommit } = failed;
  const log = logger.with({ service: entry.name });
  const watchPaths = entry.config?.watchPaths ?? [];
  const loaded = await oldHookFile(entry, deployedCommit, git);
  const scope = [
    ...new Set([
      entry.dir,
      ...watchPaths,
      ...(loaded.config?.watchPaths ?? []),
    ]),
  ];
  const workTreeCommit = failed.headCommit ?? failedCommit;
  const headFiles = await trackedFiles(git, workTreeCommit, scope);
  const oldFiles = await trackedFiles(git, deployedCommit, scope);
  const inHead = new Set(headFiles);
  const created: string[] = [];
  const keptUntracked: string[] = [];
  for (const file of oldFiles) {
    if (inHead.has(file)) continue;
    // An untracked file where the old revision had one (a `.env`, data) is never overwritten.
    if (await exists(resolve(deps.repoRoot, file))) keptUntracked.push(file);
    else created.push(file);
  }
  for (const file of keptUntracked) {
    log.warn(
      "rollback leaves untracked {file} as it is (the deployed commit tracks a file there)",
      { file },
    );
  }
  const by = failed.by ?? "agent";
  const heal = typeof by === "object" ? by.heal : undefined;
  const previous = rollbacks(store).get(entry.name);
  const trigger: Trigger = heal === undefined ? "rollback" : "heal";
  const reason: RunReason = heal !== undefined
    ? { kind: "heal", error: heal }
    : {
      kind: "rollback",
      failedCommit,
      failedRunId: failed.failedRunId,
      ...(by === "operator" ? { requested: true } : {}),
    };
  const runId = store.transaction(() => {
    const id = store.startRun({
      service: entry.name,
      trigger,
      fromCommit: failedCommit,
      toCommit: deployedCommit,
      revision: failed.revision,
      startedAt: now(),
      reason,
    });
    markRollbackStarted(store, {
      service: entry.name,
      heldRevision: failed.revision,
      failedCommit,
      failedRunId: failed.failedRunId,
      deployedCommit,
      paths: [...headFiles, ...created],
      created,
      runId: id,
      startedAt: now(),
    });
    return id;
  });
  const started: StartedRun = {
    service: entry.name,
    runId,
    commit: deployedCommit,
    trigger,
  };
  deps.recorder.started(started);
  log.warn(
    heal === undefined
      ? "rolling back {from} → {to}, run {runId}"
      : "healing at the revision it runs, {to} (HEAD {from} is held), run {runId}",
    { from: shortCommit(failedCommit), to: shortCommit(deployedCommit), runId },
  );
  let outcome: StepsOutcome;
  try {
    await restoreFiles(git, deployedCommit, [...headFiles, ...created]);
    outcome = loaded.config
      ? await runHookSteps({
        service: entry.name,
        cwd: resolve(deps.repoRoot, entry.dir),
        config: loaded.config,
        // The old revision's secrets, from the commit rolled back to.
        secrets: secretsAt(deps.secrets, {
          git,
          commit: deployedCommit,
          repoRoot: deps.repoRoot,
          dir: entry.dir,
        }),
        agentEnv: {
          ...deps.recorder.env(entry.name, deployedCommit, failedCommit, {
            trigger,
            runId,
          }),
          UPSTREAM_WATCH_ROLLBACK_FROM: failedCommit,
        },
        timeoutMs: (loaded.config.timeout ?? deps.config.commandTimeout) *
          1000,
        withheldEnv: configEnvReferences(deps.config),
        signal: deps.signal,
        runner: deps.runner,
        logger: log.with({ runId, commit: deployedCommit }),
        now,
        onCommandFinished: (command) => store.recordCommand(runId, command),
      })
      : configFailure(loaded.error);
  } catch (error) {
    outcome = configFailure(
      `cannot set the files to ${shortCommit(deployedCommit)}: ${
        errorMessage(error)
      }`,
    );
  }
  let restored = true;
  try {
    await restoreHead(deps, workTreeCommit, headFiles, created);
  } catch (error) {
    restored = false;
    log.error(
      "cannot restore the folder to HEAD after the rollback: {error}; the next start repairs it",
      { error: errorMessage(error) },
    );
  }
  const summary = outcome.kind === "interrupted"
    // Left `running`: the next start restores the folder and rolls back again.
    ? deps.recorder.finish(runId, entry.name, reason, outcome)
    : finishRollback();
  deps.recorder.finished(started, summary);
  return summary;

  function finishRollback(): RunSummary {
    return store.transaction(() => {
      const summary = deps.recorder.finish(runId, entry.name, reason, outcome);
      if (restored) {
        // A heal leaves the record of the rollback that made the hold as it was.
        const state = heal !== undefined && previous &&
            previous.state !== "running"
          ? previous.state
          : summary.outcome === "succeeded"
          ? "succeeded"
          : "failed";
        markRollbackFinished(store, entry.name, { state, now: now() });
      }
      if (summary.outcome === "succeeded" && heal === undefined) {
        log.warn(
          "rolled back to {to}; {revision} is held until a new revision or a manual deploy",
          {
            to: shortCommit(deployedCommit),
            revision: shortCommit(failed.revision),
          },
        );
      }
      return summary;
    });
  }
}

/**
 * A crash during a rollback left the folder holding old files: restore it to
 * HEAD first, then run the rollback again. Returns the new rollback runs.
 */
export async function repairRollbacks(
  deps: RollbackDeps & { head: string; services: readonly ServiceEntry[] },
): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  for (const record of rollbacks(deps.store).values()) {
    if (record.state !== "running") continue;
    deps.logger.warn(
      "a rollback of {service} was cut off; restoring its folder to HEAD and rolling back again",
      { service: record.service },
    );
    await restoreHead(deps, deps.head, headOnly(record), record.created);
    const entry = deps.services.find((service) =>
      service.name === record.service
    );
    if (!entry) {
      markRollbackFinished(deps.store, record.service, {
        state: "failed",
        now: deps.now(),
      });
      continue;
    }
    runs.push(
      await runRollback({
        entry,
        failedCommit: record.failedCommit,
        failedRunId: record.failedRunId,
        revision: record.heldRevision,
        deployedCommit: record.deployedCommit,
      }, deps),
    );
  }
  return runs;
}

function headOnly(record: RollbackRecord): string[] {
  const created = new Set(record.created);
  return record.paths.filter((path) => !created.has(path));
}

async function oldHookFile(
  entry: ServiceEntry,
  commit: string,
  git: GitClient,
): Promise<{ config?: ServiceConfig; error: string }> {
  const display = `${entry.configFile}@${shortCommit(commit)}`;
  try {
    const text = await git.showFile(commit, entry.configFile);
    return { config: parseServiceConfig(text, display).config, error: "" };
  } catch (error) {
    return { error: `cannot use ${display}: ${errorMessage(error)}` };
  }
}

/** Files tracked at `commit` under `paths`. */
async function trackedFiles(
  git: GitClient,
  commit: string,
  paths: readonly string[],
): Promise<string[]> {
  const { stdout } = await git.git(
    [
      "ls-tree",
      "-r",
      "-z",
      "--name-only",
      "--full-tree",
      commit,
      "--",
      ...paths,
    ],
    { env: { GIT_LITERAL_PATHSPECS: "1" } },
  );
  return stdout.split("\0").filter((path) => path !== "");
}

/** Sets the work tree's copy of `files` to `commit` (deleting the ones `commit` lacks); the index is untouched. */
async function restoreFiles(
  git: GitClient,
  commit: string,
  files: readonly string[],
): Promise<void> {
  if (files.length === 0) return;
  await git.git(
    [
      "restore",
      `--source=${commit}`,
      "--worktree",
      "--pathspec-from-file=-",
      "--pathspec-file-nul",
    ],
    {
      stdin: files.join("\0"),
      env: { GIT_LITERAL_PATHSPECS: "1" },
    },
  );
}

async function restoreHead(
  deps: Pick<RollbackDeps, "git" | "repoRoot">,
  head: string,
  headFiles: readonly string[],
  created: readonly string[],
): Promise<void> {
  await restoreFiles(deps.git, head, headFiles);
  for (const file of created) {
    const path = resolve(deps.repoRoot, file);
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await removeEmptyParents(dirname(path), deps.repoRoot);
  }
}

async function removeEmptyParents(dir: string, root: string): Promise<void> {
  while (dir.startsWith(root) && dir !== root) {
    try {
      await Deno.remove(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
