import { resolve } from "node:path";
import { loadRepoConfig } from "../config/load.ts";
import type { RepoConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { runHookSteps, type StepsOutcome } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type {
  RunOutcome,
  RunReason,
  StepName,
  Trigger,
} from "../state/types.ts";
import {
  decideDue,
  diffBases,
  type DueReason,
  type ServiceTarget,
} from "./due.ts";
import { discoverServices, runsOnHost, type ServiceEntry } from "./services.ts";
import { syncRepository, type SyncResult } from "./sync.ts";

/** Commits listed per run as "what made it due". */
const MAX_RECORDED_COMMITS = 20;

/** Everything the agent works with; built once by the composition root. */
export interface AgentDeps {
  git: GitClient;
  store: StateStore;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  /** Absolute work tree root. */
  repoRoot: string;
  /** Absolute path of `.upstream-watch.yaml` (or `--config`). */
  configPath: string;
  /** How the config file is named in messages. */
  configDisplay: string;
  config: RepoConfig;
  host: string;
  remote: string;
  branch: string;
}

/** One service's line in a plan. */
export interface PlanItem {
  service: string;
  dir: string;
  deployedCommit: string | null;
  due: boolean;
  reason?: DueReason;
  /** The service's hook file is invalid: it would fail with this message. */
  configError?: string;
}

/** What a cycle would do at `head`. */
export interface CyclePlan {
  sync: SyncResult;
  /** The commit services are compared against. */
  head: string;
  items: PlanItem[];
  services: ServiceEntry[];
}

/** How one service's run ended in a cycle. */
export interface RunSummary {
  service: string;
  runId: number;
  outcome: Exclude<RunOutcome, "running">;
  reason: RunReason;
  failedStep?: StepName;
  error?: string;
}

/** The structured result of one cycle. */
export interface CycleResult {
  trigger: Trigger;
  sync: SyncResult;
  runs: RunSummary[];
  /** True when at least one service failed (exit code 1 for `run --once`). */
  failed: boolean;
}

/** Options of {@link Agent.runCycle}. */
export interface CycleOptions {
  trigger: Trigger;
  /** Aborting kills the running command (with its children) and records it `interrupted`. */
  signal?: AbortSignal;
}

/** The update cycle of SPEC §4: sync, work out what is due, run it, record it. */
export class Agent {
  readonly #deps: AgentDeps;
  #config: RepoConfig;
  #servicesAt?: { commit: string; services: ServiceEntry[] };

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    this.#config = deps.config;
  }

  /** The repository configuration in effect (reloaded when HEAD moves). */
  get config(): RepoConfig {
    return this.#config;
  }

  /** Services at `commit`, parsed once per commit: an idle cycle reads no file and starts no extra git process. */
  async services(commit: string, head: string): Promise<ServiceEntry[]> {
    if (this.#servicesAt?.commit === commit) return this.#servicesAt.services;
    const { git, repoRoot } = this.#deps;
    const services = await discoverServices(git, {
      commit,
      config: this.#config,
      readFile: (path) =>
        commit === head
          ? Deno.readTextFile(resolve(repoRoot, path))
          : git.showFile(commit, path),
    });
    for (const service of services) {
      for (const warning of service.warnings) {
        this.#deps.logger.warn("{file}:{line}: {message}", {
          ...warning,
          service: service.name,
          line: warning.line ?? "?",
        });
      }
    }
    this.#servicesAt = { commit, services };
    return services;
  }

  /** Works out which services are due at the upstream commit without running anything. */
  async plan(
    options: { fetch: boolean; move: boolean; signal?: AbortSignal },
  ): Promise<CyclePlan> {
    const sync = await syncRepository(this.#deps.git, {
      remote: this.#deps.remote,
      branch: this.#deps.branch,
      mode: this.#config.sync,
      fetch: options.fetch,
      move: options.move,
      signal: options.signal,
    });
    const head = options.move ? sync.after : sync.upstream;
    if (sync.after !== sync.before) await this.#reloadConfig();
    const all = await this.services(head, sync.after);
    const services = all.filter((entry) => runsOnHost(entry, this.#deps.host));
    const items = await this.#verdicts(services, head);
    return { sync, head, items, services };
  }

  async #verdicts(
    services: readonly ServiceEntry[],
    head: string,
  ): Promise<PlanItem[]> {
    const { git, store } = this.#deps;
    const state = store.services();
    const targets: ServiceTarget[] = services.map((entry) => ({
      name: entry.name,
      dir: entry.dir,
      watchPaths: entry.config?.watchPaths ?? [],
    }));
    const bases = diffBases(state, targets, head);
    const existing = await git.existingCommits(bases);
    const missing = new Set(bases.filter((commit) => !existing.has(commit)));
    for (const commit of missing) {
      this.#deps.logger.warn(
        "deployed commit {commit} no longer exists (history was rewritten); its services are due",
        { commit },
      );
    }
    const changedSince = new Map<string, string[]>();
    for (const base of bases) {
      if (!missing.has(base)) {
        changedSince.set(base, await git.changedPaths(base, head));
      }
    }
    const verdicts = decideDue({
      targets,
      state,
      head,
      changedSince,
      missingCommits: missing,
      ignoredPaths: this.#stateFilePaths(),
    });
    return verdicts.map((verdict, index) => ({
      ...verdict,
      dir: services[index].dir,
      configError: verdict.due ? services[index].error?.message : undefined,
    }));
  }

  /** The state file's own paths, which never make the single-directory service due. */
  #stateFilePaths(): string[] {
    const file = this.#config.stateFile;
    return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
  }

  async #reloadConfig(): Promise<void> {
    try {
      const { config, warnings } = await loadRepoConfig(
        this.#deps.configPath,
        this.#deps.configDisplay,
      );
      for (const warning of warnings) {
        this.#deps.logger.warn("{file}:{line}: {message}", {
          ...warning,
          line: warning.line ?? "?",
        });
      }
      if (config.stateFile !== this.#config.stateFile) {
        this.#deps.logger.warn(
          "state_file changed to {stateFile}; the new path takes effect after a restart",
          { stateFile: config.stateFile },
        );
      }
      this.#config = { ...config, stateFile: this.#config.stateFile };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#deps.logger.error(
        "{error}; keeping the previous repository configuration",
        { error: error.message },
      );
    }
  }

  /** One cycle: sync, plan, run every due service in order, record each run. */
  async runCycle(options: CycleOptions): Promise<CycleResult> {
    const { logger } = this.#deps;
    const plan = await this.plan({
      fetch: true,
      move: true,
      signal: options.signal,
    });
    if (plan.sync.after !== plan.sync.before) {
      logger.info("updated work tree {from} → {to}", {
        from: plan.sync.before.slice(0, 12),
        to: plan.sync.after.slice(0, 12),
        commit: plan.sync.after,
      });
    }
    const due = plan.items.filter((item) => item.due);
    const runs: RunSummary[] = [];
    for (const item of due) {
      if (options.signal?.aborted) break;
      const entry = plan.services.find((service) =>
        service.name === item.service
      )!;
      runs.push(
        await this.runService(entry, {
          head: plan.head,
          reason: item.reason!,
          deployedCommit: item.deployedCommit,
          trigger: options.trigger,
          signal: options.signal,
        }),
      );
    }
    if (due.length === 0) {
      logger.debug("nothing to do at {commit}", {
        commit: plan.head,
      });
    }
    return {
      trigger: options.trigger,
      sync: plan.sync,
      runs,
      failed: runs.some((run) => run.outcome === "failed"),
    };
  }

  /** Runs one service's steps at `head` and records the run from start to finish. */
  async runService(
    entry: ServiceEntry,
    options: {
      head: string;
      reason: RunReason;
      deployedCommit: string | null;
      trigger: Trigger;
      signal?: AbortSignal;
    },
  ): Promise<RunSummary> {
    const { git, store, now, repoRoot } = this.#deps;
    const paths = [entry.dir, ...(entry.config?.watchPaths ?? [])];
    const history = await git.commitsTouching({
      from: options.reason.kind === "changed"
        ? options.deployedCommit ?? undefined
        : undefined,
      to: options.head,
      paths,
      limit: MAX_RECORDED_COMMITS,
    });
    const reason: RunReason = options.reason.kind === "changed"
      ? { ...options.reason, commits: history }
      : options.reason;
    const revision = history[0]?.commit ?? options.head;
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
    const log = this.#deps.logger.with({
      service: entry.name,
      runId,
      commit: options.head,
    });
    log.info("updating ({why}), run {runId}", { why: describeReason(reason) });

    let outcome: StepsOutcome;
    if (!entry.config) {
      const message = entry.error?.message ?? "invalid hook file";
      log.error(message);
      outcome = {
        kind: "failed",
        step: "config",
        command: "",
        exitCode: null,
        timedOut: false,
        message,
      };
    } else {
      outcome = await runHookSteps({
        service: entry.name,
        cwd: resolve(repoRoot, entry.dir),
        config: entry.config,
        agentEnv: {
          UPSTREAM_WATCH_SERVICE: entry.name,
          UPSTREAM_WATCH_COMMIT: options.head,
          UPSTREAM_WATCH_PREVIOUS_COMMIT: options.deployedCommit ?? "",
          UPSTREAM_WATCH_REPO: repoRoot,
          UPSTREAM_WATCH_TRIGGER: options.trigger,
          UPSTREAM_WATCH_RUN_ID: String(runId),
        },
        timeoutMs: (entry.config.timeout ?? this.#config.commandTimeout) *
          1000,
        signal: options.signal,
        runner: this.#deps.runner,
        logger: this.#deps.logger,
        now,
        onCommandFinished: (command) => store.recordCommand(runId, command),
      });
    }
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
    store.finishRun(runId, {
      ...finished,
      finishedAt: now(),
      historyLimit: this.#config.historyLimit,
    });
    if (finished.outcome === "succeeded") {
      log.info("deployed {commit}", { commit: options.head.slice(0, 12) });
    } else {
      log.error("run {runId} {outcome}", { outcome: finished.outcome });
    }
    return { service: entry.name, runId, reason, ...finished };
  }
}

/** A short human explanation of why a run happened. */
export function describeReason(reason: RunReason): string {
  switch (reason.kind) {
    case "first_deploy":
      return "never deployed";
    case "changed": {
      const more = reason.totalPaths - reason.paths.length;
      const shown = reason.paths.slice(0, 3).join(", ") +
        (reason.paths.length > 3 || more > 0
          ? ` and ${reason.totalPaths - Math.min(3, reason.paths.length)} more`
          : "");
      return `changed: ${shown}`;
    }
    case "history_rewritten":
      return `deployed commit ${
        reason.deployedCommit.slice(0, 12)
      } no longer exists`;
    case "interrupted":
      return "previous run was interrupted";
    case "manual":
      return "manual deploy";
  }
}
