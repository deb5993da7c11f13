/**
 * One recorded run of one service, whatever started it: an update, a heal, a
 * rollback, a removed service's `on_remove_commands`. Every run goes start →
 * (listeners told) → steps → finish → (listeners told), and its hook commands
 * run in the same kind of context; the kinds differ only in their
 * {@link RunScope} (which service and commits, why, what else is recorded
 * with the run) and the {@link HookFiles} they run from. What every run must
 * do goes here once: a new trigger is a new scope, work before a run's first
 * hook command belongs in {@link ServiceRun.steps}, and what each command's
 * start records in its `onCommandStarted`.
 * See docs/design.md#running-a-service.
 * @module
 */
import { resolve } from "node:path";
import { configEnvReferences } from "../config/env_references.ts";
import type { RepoConfig } from "../config/types.ts";
import { secretsAt, type SecretsContext } from "../hooks/decrypt_step.ts";
import type { HookCommandContext, StepsOutcome } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessGroupRecord, RunReason, Trigger } from "../state/types.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import type { AgentDeps } from "./agent_deps.ts";
import type { StartedRun } from "../results/run_listener.ts";
import type { NewestCommits } from "./newest_commits.ts";

/** What every run works with: update, heal, rollback and on_remove runs alike. */
export interface RunContext extends
  Pick<
    AgentDeps,
    | "git"
    | "store"
    | "runner"
    | "logger"
    | "now"
    | "repoRoot"
    | "config"
    | "runListeners"
    | "secrets"
  > {
  /** The commits that touched a service (its revision, its "why"). */
  commits: NewestCommits;
}

/** Which run this is: what is recorded when it starts, and what its hooks are told. */
export interface RunScope {
  service: string;
  trigger: Trigger;
  reason: RunReason;
  /** The commit the run leaves (`UPSTREAM_WATCH_PREVIOUS_COMMIT`). */
  fromCommit: string | null;
  /** The commit whose files run (`UPSTREAM_WATCH_COMMIT`; listeners report on it). */
  toCommit: string;
  /** The service revision attempts are counted against. */
  revision?: string;
  attempt?: number;
  /** Variables its hooks see beside the `UPSTREAM_WATCH_*` of every run. */
  env?: Record<string, string>;
  /** Whether the run listeners hear of it (see {@link ServiceRun.start}). */
  announced: boolean;
  /** Written in the transaction that records the run's start. */
  alongStart?: (runId: number) => void;
}

/** Where a service's hook commands run from, for a run or a check. */
export interface HookFiles {
  /** Absolute folder the commands run in. */
  cwd: string;
  /** The hook file's `timeout` (seconds per command), else the repository's `command_timeout`. */
  timeout?: number;
}

/** What the hook commands of any run or check share: their folder, per-command limit and the variables kept from them. */
export function hookSettings(
  config: RepoConfig,
  files: HookFiles,
): { cwd: string; timeoutMs: number; withheldEnv: readonly string[] } {
  return {
    cwd: files.cwd,
    timeoutMs: (files.timeout ?? config.commandTimeout) * 1000,
    withheldEnv: configEnvReferences(config),
  };
}

/** The folder of a service in the work tree, with its hook file's `timeout`. */
export function workTreeFiles(
  repoRoot: string,
  service: { dir: string; config?: { timeout?: number } },
): HookFiles {
  return {
    cwd: resolve(repoRoot, service.dir),
    timeout: service.config?.timeout,
  };
}

/** One run from its start to its end; {@link ServiceRun.start} records it. */
export class ServiceRun {
  readonly #context: RunContext;
  readonly #scope: RunScope;
  readonly #started: StartedRun;
  /** The run's id in the state file. */
  readonly runId: number;
  /** Logs with the run's service, id and commit. */
  readonly log: Logger;

  private constructor(context: RunContext, scope: RunScope, runId: number) {
    this.#context = context;
    this.#scope = scope;
    this.runId = runId;
    this.#started = {
      service: scope.service,
      runId,
      commit: scope.toCommit,
      trigger: scope.trigger,
    };
    this.log = context.logger.with({
      service: scope.service,
      runId,
      commit: scope.toCommit,
    });
  }

  /**
   * Records the run as `running` (with the scope's `alongStart`, in one
   * transaction) and tells the listeners, when the run is announced.
   */
  static start(context: RunContext, scope: RunScope): ServiceRun {
    const runId = context.store.startRun({
      service: scope.service,
      trigger: scope.trigger,
      fromCommit: scope.fromCommit,
      toCommit: scope.toCommit,
      revision: scope.revision,
      attempt: scope.attempt,
      startedAt: context.now(),
      reason: scope.reason,
    }, scope.alongStart);
    const run = new ServiceRun(context, scope, runId);
    if (scope.announced) {
      for (const listener of context.runListeners ?? []) {
        listener.runStarted(run.#started);
      }
    }
    return run;
  }

  /** What the decrypt step needs for the service's secrets in `dir` at the run's commit (undefined: not decrypted). */
  secrets(dir: string): SecretsContext | undefined {
    const { git, repoRoot, secrets } = this.#context;
    return secretsAt(secrets, {
      git,
      commit: this.#scope.toCommit,
      repoRoot,
      dir,
    });
  }

  /** The `UPSTREAM_WATCH_*` variables of this run; they win over the service's own `env`. */
  env(): Record<string, string> {
    const scope = this.#scope;
    return {
      UPSTREAM_WATCH_SERVICE: scope.service,
      UPSTREAM_WATCH_COMMIT: scope.toCommit,
      UPSTREAM_WATCH_PREVIOUS_COMMIT: scope.fromCommit ?? "",
      UPSTREAM_WATCH_REPO: this.#context.repoRoot,
      UPSTREAM_WATCH_TRIGGER: scope.trigger,
      UPSTREAM_WATCH_RUN_ID: String(this.runId),
      ...scope.env,
    };
  }

  /**
   * Runs the run's steps from `files`: `steps` gets the context its hook
   * commands run in, each command's process group and record stored under
   * this run.
   */
  steps(
    files: HookFiles,
    steps: (context: HookCommandContext) => Promise<StepsOutcome>,
    options: {
      signal?: AbortSignal;
      /** Called after the command's process group is stored. */
      onCommandStarted?: () => void;
    } = {},
  ): Promise<StepsOutcome> {
    const { store, runner, now } = this.#context;
    const runId = this.runId;
    return steps({
      service: this.#scope.service,
      ...hookSettings(this.#context.config.current, files),
      agentEnv: this.env(),
      signal: options.signal,
      runner,
      // Every command and output line carries the run's service, id and commit.
      logger: this.log,
      now,
      onCommandStarted: (group: ProcessGroupRecord) => {
        store.recordProcessGroup(runId, group);
        options.onCommandStarted?.();
      },
      onCommandFinished: (command) => store.recordCommand(runId, command),
    });
  }

  /**
   * Records how the run ended (with `alongside`, in one transaction) and tells
   * the listeners; `removed` and `rollback` runs leave the deployed commit as
   * it was.
   */
  finish(
    outcome: StepsOutcome,
    options: {
      /** The reason as it stands at the end (the "why" commits arrive later). */
      reason?: RunReason;
      alongside?: (summary: RunSummary) => void;
    } = {},
  ): RunSummary {
    const { store, now } = this.#context;
    const reason = options.reason ?? this.#scope.reason;
    const finished = outcome.kind === "succeeded"
      ? { outcome: "succeeded" as const }
      : outcome.kind === "interrupted"
      ? {
        outcome: "interrupted" as const,
        failedStep: outcome.step,
        error: `interrupted during ${outcome.step}: ${outcome.command}`,
      }
      : {
        outcome: "failed" as const,
        failedStep: outcome.step,
        error: outcome.message,
      };
    const summary: RunSummary = {
      service: this.#scope.service,
      runId: this.runId,
      reason,
      ...finished,
    };
    store.finishRun(this.runId, {
      ...finished,
      finishedAt: now(),
      // Read at each finish, so a reloaded configuration applies.
      historyLimit: this.#context.config.current.historyLimit,
      // A removed service's on_remove run must keep its last deployed commit.
      recordsDeployment: reason.kind !== "removed" &&
        (reason.kind !== "rollback" || reason.requested === true),
    }, options.alongside && (() => options.alongside!(summary)));
    if (this.#scope.announced) {
      for (const listener of this.#context.runListeners ?? []) {
        listener.runFinished({ ...this.#started, summary });
      }
    }
    return summary;
  }
}
