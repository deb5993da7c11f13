/**
 * One run of one service at the cycle's commit: the commits that made it due,
 * its attempt number, its hook steps, and its record from start to finish.
 * See docs/design.md#running-a-service.
 * @module
 */
import { resolve } from "node:path";
import { configEnvReferences } from "../config/env_references.ts";
import type { RepoConfig } from "../config/types.ts";
import { shortCommit } from "../git/commit_id.ts";
import type { GitClient } from "../git/git_client.ts";
import { secretsAt, type SecretsHost } from "../hooks/decrypt_step.ts";
import {
  configFailure,
  runHookSteps,
  type StepsOutcome,
} from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type { RunReason, Trigger } from "../state/types.ts";
import type { RunSummary } from "./cycle_types.ts";
import { describeReason } from "./describe.ts";
import type { NewestCommits } from "./newest_commits.ts";
import type { RunRecorder } from "./run_recorder.ts";
import type { ServiceEntry } from "./services.ts";

/** Commits listed per run as "what made it due". */
const MAX_RECORDED_COMMITS = 20;

/** What every run works with: update, rollback and on_remove runs alike. */
export interface RunContext {
  git: GitClient;
  store: StateStore;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  /** Absolute work tree root. */
  repoRoot: string;
  /** The repository configuration in effect. */
  config: RepoConfig;
  recorder: RunRecorder;
  /** The commits that touched a service (its revision, its "why"). */
  commits: NewestCommits;
  /** The host's SOPS keys; undefined: services' secrets are not decrypted. */
  secrets?: SecretsHost;
}

/** Why and from where one service runs. */
export interface ServiceRunOptions {
  head: string;
  reason: RunReason;
  deployedCommit: string | null;
  trigger: Trigger;
  signal?: AbortSignal;
}

/** Runs one service's steps at `head` and records the run from start to finish. */
export async function runService(
  entry: ServiceEntry,
  options: ServiceRunOptions,
  context: RunContext,
): Promise<RunSummary> {
  const { store, now, repoRoot, config, recorder } = context;
  const from = options.reason.kind === "changed"
    ? options.deployedCommit ?? undefined
    : undefined;
  // The newest commit is all the run needs to start (attempts count per
  // revision, as the plan counts them); the "why" list of the range is read
  // while its commands run: a range walks all of it, the newest commit does not.
  const newest = await context.commits.newest(entry, options.head);
  const revision = newest[0]?.commit ?? options.head;
  let reason: RunReason = options.reason.kind === "changed"
    ? { ...options.reason, commits: newest }
    : options.reason;
  const record = store.services().get(entry.name);
  const attempt = record?.failedRevision === revision
    ? record.failedAttempts + 1
    : 1;
  const runId = store.startRun({
    service: entry.name,
    trigger: options.trigger,
    fromCommit: options.deployedCommit,
    toCommit: options.head,
    revision,
    attempt,
    startedAt: now(),
    reason,
  });
  const started = {
    service: entry.name,
    runId,
    commit: options.head,
    trigger: options.trigger,
  };
  recorder.started(started);
  const log = context.logger.with({
    service: entry.name,
    runId,
    commit: options.head,
  });
  log.info("updating ({why}), run {runId}, attempt {attempt}", {
    why: describeReason(reason),
    attempt,
  });
  const startedReason = reason;
  const listReason = (): Promise<RunReason> =>
    context.commits.since(entry, {
      from,
      to: options.head,
      limit: MAX_RECORDED_COMMITS,
    }).then((commits): RunReason => {
      const full = { ...options.reason, commits } as RunReason;
      if (JSON.stringify(commits) !== JSON.stringify(newest)) {
        store.recordRunReason(runId, full);
      }
      return full;
    }, (error): RunReason => {
      // The run goes on: only the list of older commits is missing.
      log.warn("cannot list the commits of this run: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
      return startedReason;
    });
  // Listed once the first command has started (or the run is over): starting
  // this git process does not delay the command.
  let fullReason: Promise<RunReason> | undefined;
  const listWhy = () =>
    fullReason ??= options.reason.kind === "changed" && newest.length > 0
      ? listReason()
      : Promise.resolve(startedReason);

  let outcome: StepsOutcome;
  if (!entry.config) {
    const message = entry.error?.message ?? "invalid hook file";
    log.error(message);
    outcome = configFailure(message);
  } else {
    outcome = await runHookSteps({
      service: entry.name,
      cwd: resolve(repoRoot, entry.dir),
      config: entry.config,
      secrets: secretsAt(context.secrets, {
        git: context.git,
        commit: options.head,
        repoRoot,
        dir: entry.dir,
      }),
      agentEnv: recorder.env(entry.name, options.head, options.deployedCommit, {
        trigger: options.trigger,
        runId,
      }),
      withheldEnv: configEnvReferences(config),
      timeoutMs: (entry.config.timeout ?? config.commandTimeout) * 1000,
      signal: options.signal,
      runner: context.runner,
      // Every command and output line carries the run's service, id and commit.
      logger: log,
      now,
      onCommandStarted: (group) => {
        store.recordProcessGroup(runId, group);
        listWhy();
      },
      onCommandFinished: (command) => store.recordCommand(runId, command),
    });
  }
  reason = await listWhy();
  const summary = recorder.finish(runId, entry.name, reason, outcome);
  recorder.finished(started, summary);
  if (summary.outcome === "succeeded") {
    log.info("deployed {short}", { short: shortCommit(options.head) });
  } else {
    log.error("run {runId} {outcome}: {error}", {
      outcome: summary.outcome,
      error: summary.error,
    });
  }
  return summary;
}
