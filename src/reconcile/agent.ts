import { join, resolve } from "node:path";
import { loadRepoConfig, parseServiceConfig } from "../config/load.ts";
import {
  type HookCommand,
  type RepoConfig,
  SERVICE_CONFIG_FILE,
} from "../config/types.ts";
import { ConfigError, UsageError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { runHookSteps, type StepsOutcome } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type {
  RunOutcome,
  RunReason,
  ServiceRecord,
  StepName,
  Trigger,
} from "../state/types.ts";
import {
  decideDue,
  diffBases,
  type DueReason,
  type ServiceTarget,
} from "./due.ts";
import { dependencyOrder, dependencyProblems } from "./order.ts";
import { type RetryHold, retryHold } from "./retry.ts";
import {
  deserializeParsedHookFile,
  discoverServices,
  type ParsedHookFile,
  runsOnHost,
  serializeParsedHookFile,
  type ServiceEntry,
} from "./services.ts";
import { VERSION } from "../version.ts";
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
  /** Absolute git dir of the work tree (`.git`, or a worktree's own dir). */
  gitDir: string;
  /** Absolute path of `.upstream-watch.yaml` (or `--config`). */
  configPath: string;
  /** How the config file is named in messages. */
  configDisplay: string;
  config: RepoConfig;
  host: string;
  remote: string;
  branch: string;
}

/** Why an out-of-date service does not run in this cycle. */
export type Hold = RetryHold | { kind: "dependency"; dependency: string };

/** One service's line in a plan. */
export interface PlanItem {
  service: string;
  dir: string;
  deployedCommit: string | null;
  /** Its deployed commit is not the target (or it never ran, or was interrupted). */
  outOfDate: boolean;
  /** Out of date and allowed to run now: the next cycle runs it. */
  due: boolean;
  reason?: DueReason;
  /** Set when out of date but held back. */
  hold?: Hold;
  /** The service's hook file is invalid: it would fail with this message. */
  configError?: string;
  dependsOn: string[];
}

/** What a cycle would do at `head`. */
export interface CyclePlan {
  sync: SyncResult;
  /** The commit services are compared against. */
  head: string;
  items: PlanItem[];
  /** Services of this host at `head`. */
  services: ServiceEntry[];
  /** Services with state that no longer exist at `head` and were not yet reported. */
  removed: ServiceRecord[];
}

/** How one service's run ended. */
export interface RunSummary {
  service: string;
  runId: number;
  outcome: Exclude<RunOutcome, "running">;
  reason: RunReason;
  failedStep?: StepName;
  error?: string;
}

/** The structured result of one cycle (or `deploy`). */
export interface CycleResult {
  trigger: Trigger;
  sync: SyncResult;
  runs: RunSummary[];
  /** Services reported removed in this cycle. */
  removed: string[];
  /** True when at least one service failed (exit code 1). */
  failed: boolean;
}

/** Options of {@link Agent.runCycle} and {@link Agent.deploy}. */
export interface CycleOptions {
  trigger: Trigger;
  /** Aborted: start no further service (a graceful stop). */
  stop?: AbortSignal;
  /** Aborted: kill the running command (with its children) and record it `interrupted`. */
  signal?: AbortSignal;
}

interface ScheduledRun {
  entry: ServiceEntry;
  reason: RunReason;
  deployedCommit: string | null;
}

/** The update cycle of SPEC §4: sync, work out what is due, run it, record it. */
export class Agent {
  readonly #deps: AgentDeps;
  #config: RepoConfig;
  #servicesAt?: { commit: string; services: ServiceEntry[] };
  /** Parsed hook files by blob id and path: a HEAD move re-parses only the hook files it changed. */
  #parsed = new Map<string, ParsedHookFile>();
  #parsedLoaded = false;
  /** Diffs and revisions never change for a given pair of commits; kept for the current target only. */
  #gitCache = {
    head: "",
    diffs: new Map<string, string[]>(),
    revisions: new Map<string, string>(),
  };

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
    const { git, repoRoot, store } = this.#deps;
    if (!this.#parsedLoaded) {
      // What a writer parsed before: `status` at 1,000 services need not parse 1,000 YAML files.
      for (const [key, text] of store.parsedHookFiles(VERSION)) {
        this.#parsed.set(key, deserializeParsedHookFile(text));
      }
      this.#parsedLoaded = true;
    }
    const known = new Set(this.#parsed.keys());
    const services = await discoverServices(git, {
      commit,
      config: this.#config,
      parsed: this.#parsed,
      readFile: (path) =>
        commit === head
          ? Deno.readTextFile(resolve(repoRoot, path))
          : git.showFile(commit, path),
      onSkippedFolder: (folder) =>
        this.#deps.logger.debug(
          "{folder}/ has no {file}: not a service",
          { folder, file: SERVICE_CONFIG_FILE },
        ),
    });
    const changed = this.#parsed.size !== known.size ||
      [...this.#parsed.keys()].some((key) => !known.has(key));
    if (changed && !store.readOnly) {
      store.saveParsedHookFiles(
        VERSION,
        new Map(
          [...this.#parsed].map((
            [key, parsed],
          ) => [key, serializeParsedHookFile(parsed)]),
        ),
      );
    }
    markDependencyErrors(services);
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
    await this.#repairClone(options.move);
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
    const state = this.#deps.store.services();
    const items = await this.#verdicts(services, state, head);
    const present = new Set(all.map((entry) => entry.name));
    const removed = this.#config.singleDirectoryMode ? [] : [...state.values()]
      .filter((record) =>
        record.deployedCommit !== null && record.removedAt === null &&
        !present.has(record.name)
      );
    return { sync, head, items, services, removed };
  }

  async #verdicts(
    services: readonly ServiceEntry[],
    state: ReadonlyMap<string, ServiceRecord>,
    head: string,
  ): Promise<PlanItem[]> {
    const { git, logger, now } = this.#deps;
    if (this.#gitCache.head !== head) {
      this.#gitCache = { head, diffs: new Map(), revisions: new Map() };
    }
    const targets: ServiceTarget[] = services.map((entry) => ({
      name: entry.name,
      dir: entry.dir,
      watchPaths: entry.config?.watchPaths ?? [],
    }));
    const bases = diffBases(state, targets, head).filter((base) =>
      !this.#gitCache.diffs.has(base)
    );
    const existing = await git.existingCommits(bases);
    const missing = new Set(bases.filter((commit) => !existing.has(commit)));
    for (const commit of missing) {
      logger.warn(
        "deployed commit {commit} no longer exists (history was rewritten); its services are due",
        { commit },
      );
    }
    const diffs = await git.changedPathsFrom([...existing], head);
    for (const [base, paths] of diffs) this.#gitCache.diffs.set(base, paths);
    const verdicts = decideDue({
      targets,
      state,
      head,
      changedSince: this.#gitCache.diffs,
      missingCommits: missing,
      ignoredPaths: this.#stateFilePaths(),
    });
    const items: PlanItem[] = [];
    for (const [index, verdict] of verdicts.entries()) {
      const entry = services[index];
      const record = state.get(entry.name);
      let hold: Hold | undefined;
      if (verdict.due && record && record.failedAttempts > 0) {
        hold = retryHold(record, {
          revision: await this.#revision(entry, head),
          now: now(),
          maxAttempts: this.#config.maxAttempts,
          backoffSeconds: this.#config.retryBackoff,
        });
      }
      items.push({
        service: verdict.service,
        dir: entry.dir,
        deployedCommit: verdict.deployedCommit,
        outOfDate: verdict.due,
        due: verdict.due && hold === undefined,
        reason: verdict.reason,
        hold,
        configError: verdict.due ? entry.error?.message : undefined,
        dependsOn: entry.config?.dependsOn ?? [],
      });
    }
    holdDependents(items);
    return items;
  }

  /** The newest commit at `head` that touched the service (attempts are counted per revision). */
  async #revision(entry: ServiceEntry, head: string): Promise<string> {
    const cached = this.#gitCache.revisions.get(entry.name);
    if (cached) return cached;
    const [newest] = await this.#deps.git.commitsTouching({
      to: head,
      paths: servicePaths(entry),
      limit: 1,
    });
    const revision = newest?.commit ?? head;
    this.#gitCache.revisions.set(entry.name, revision);
    return revision;
  }

  /** The state file's own paths, which never make the single-directory service due. */
  #stateFilePaths(): string[] {
    const file = this.#config.stateFile;
    return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
  }

  /** SPEC §4 step 6: a stale index.lock or an unfinished merge left by a crash is repaired, untracked files untouched. */
  async #repairClone(willMove: boolean): Promise<void> {
    if (!willMove) return;
    const { gitDir } = this.#deps;
    const indexLock = join(gitDir, "index.lock");
    try {
      const info = await Deno.stat(indexLock);
      const ageMs = this.#deps.now() - (info.mtime?.getTime() ?? 0);
      // A live git holds the lock for milliseconds; an old one was left by a killed git.
      if (ageMs > STALE_INDEX_LOCK_MS) {
        this.#deps.logger.warn(
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
      this.#deps.logger.warn("aborting an unfinished merge left in the clone");
      await this.#deps.git.git(["merge", "--abort"]);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
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

  /** One cycle: sync, plan, report removed services, run every due service in dependency order, record each run. */
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
    const removed: string[] = [];
    for (const record of plan.removed) {
      if (options.stop?.aborted) break;
      await this.#reportRemoved(record, plan.head, options);
      removed.push(record.name);
    }
    for (const item of plan.items) {
      if (item.hold) logHold(logger, item);
    }
    const byName = new Map(plan.services.map((entry) => [entry.name, entry]));
    const runs = await this.#runScheduled(
      plan.items.filter((item) => item.due).map((item) => ({
        entry: byName.get(item.service)!,
        reason: item.reason!,
        deployedCommit: item.deployedCommit,
      })),
      plan.head,
      options,
    );
    if (runs.length === 0 && removed.length === 0) {
      logger.debug("nothing to do at {commit}", { commit: plan.head });
    }
    return {
      trigger: options.trigger,
      sync: plan.sync,
      runs,
      removed,
      failed: runs.some((run) => run.outcome === "failed"),
    };
  }

  /** `deploy`: runs the named services (or all) at HEAD now, due or not, in dependency order. */
  async deploy(
    names: readonly string[] | "all",
    options: CycleOptions,
  ): Promise<CycleResult> {
    const [head] = await this.#deps.git.revParse(["HEAD"]);
    const selected = await this.#select(head, names);
    const state = this.#deps.store.services();
    const runs = await this.#runScheduled(
      selected.map((entry) => ({
        entry,
        reason: { kind: "manual" },
        deployedCommit: state.get(entry.name)?.deployedCommit ?? null,
      })),
      head,
      options,
    );
    return {
      trigger: options.trigger,
      sync: { before: head, after: head, upstream: head },
      runs,
      removed: [],
      failed: runs.some((run) => run.outcome === "failed"),
    };
  }

  /** `adopt`: records services as deployed at HEAD without running anything; returns their names. */
  async adopt(
    names: readonly string[] | "all",
  ): Promise<{ head: string; services: string[] }> {
    const [head] = await this.#deps.git.revParse(["HEAD"]);
    const selected = (await this.#select(head, names)).map((entry) =>
      entry.name
    );
    this.#deps.store.setDeployed(selected, head, this.#deps.now());
    for (const service of selected) {
      this.#deps.logger.info("adopted at {commit} (no commands run)", {
        service,
        commit: head.slice(0, 12),
      });
    }
    return { head, services: selected };
  }

  async #select(
    head: string,
    names: readonly string[] | "all",
  ): Promise<ServiceEntry[]> {
    const services = (await this.services(head, head)).filter((entry) =>
      runsOnHost(entry, this.#deps.host)
    );
    if (names === "all") return services;
    const byName = new Map(services.map((entry) => [entry.name, entry]));
    const unknown = names.filter((name) => !byName.has(name));
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown service${unknown.length > 1 ? "s" : ""} ${
          unknown.join(", ")
        }; known services on this host: ${
          [...byName.keys()].join(", ") || "(none)"
        }`,
      );
    }
    return [...new Set(names)].map((name) => byName.get(name)!);
  }

  /** Runs services in dependency order, up to `parallel` at once; a failed dependency skips its dependents. */
  async #runScheduled(
    scheduled: readonly ScheduledRun[],
    head: string,
    options: CycleOptions,
  ): Promise<RunSummary[]> {
    const byName = new Map(scheduled.map((run) => [run.entry.name, run]));
    const dependencies = (name: string) =>
      (byName.get(name)?.entry.config?.dependsOn ?? []).filter((dependency) =>
        byName.has(dependency)
      );
    const order = dependencyOrder([...byName.keys()], dependencies);
    const slots = new Semaphore(Math.max(1, this.#config.parallel));
    const results = new Map<string, Promise<RunSummary | undefined>>();
    for (const name of order) {
      const run = byName.get(name)!;
      const waitFor = dependencies(name).map((dependency) =>
        results.get(dependency)!
      );
      results.set(
        name,
        (async () => {
          const finished = await Promise.all(waitFor);
          if (finished.some((result) => result === undefined)) return undefined;
          const failed = finished.find((result) =>
            result!.outcome !== "succeeded"
          );
          if (failed) {
            return this.#recordSkipped(run, head, options, failed.service);
          }
          await slots.acquire();
          try {
            if (options.stop?.aborted || options.signal?.aborted) {
              return undefined;
            }
            return await this.runService(run.entry, {
              head,
              reason: run.reason,
              deployedCommit: run.deployedCommit,
              trigger: options.trigger,
              signal: options.signal,
            });
          } finally {
            slots.release();
          }
        })(),
      );
    }
    const summaries = await Promise.all(
      order.map((name) => results.get(name)!),
    );
    return summaries.filter((summary): summary is RunSummary =>
      summary !== undefined
    );
  }

  #recordSkipped(
    run: ScheduledRun,
    head: string,
    options: CycleOptions,
    dependency: string,
  ): RunSummary {
    const { store, now } = this.#deps;
    const error = `dependency ${dependency} did not succeed`;
    const runId = store.startRun({
      service: run.entry.name,
      trigger: options.trigger,
      fromCommit: run.deployedCommit,
      toCommit: head,
      startedAt: now(),
      reason: run.reason,
    });
    store.finishRun(runId, {
      outcome: "skipped",
      finishedAt: now(),
      error,
      historyLimit: this.#config.historyLimit,
    });
    this.#deps.logger.warn("skipped: {error}", {
      service: run.entry.name,
      runId,
      error,
    });
    return {
      service: run.entry.name,
      runId,
      outcome: "skipped",
      reason: run.reason,
      error,
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
    const history = await git.commitsTouching({
      from: options.reason.kind === "changed"
        ? options.deployedCommit ?? undefined
        : undefined,
      to: options.head,
      paths: servicePaths(entry),
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
    log.info("updating ({why}), run {runId}, attempt {attempt}", {
      why: describeReason(reason),
      attempt,
    });

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
        agentEnv: this.#agentEnv(
          entry.name,
          options.head,
          options.deployedCommit,
          {
            trigger: options.trigger,
            runId,
          },
        ),
        timeoutMs: (entry.config.timeout ?? this.#config.commandTimeout) * 1000,
        signal: options.signal,
        runner: this.#deps.runner,
        // Every command and output line carries the run's service, id and commit.
        logger: log,
        now,
        onCommandFinished: (command) => store.recordCommand(runId, command),
      });
    }
    const summary = this.#finish(runId, entry.name, reason, outcome);
    if (summary.outcome === "succeeded") {
      log.info("deployed {short}", { short: options.head.slice(0, 12) });
    } else {
      log.error("run {runId} {outcome}: {error}", {
        outcome: summary.outcome,
        error: summary.error,
      });
    }
    return summary;
  }

  #agentEnv(
    service: string,
    commit: string,
    previous: string | null,
    run: { trigger: Trigger; runId: number },
  ): Record<string, string> {
    return {
      UPSTREAM_WATCH_SERVICE: service,
      UPSTREAM_WATCH_COMMIT: commit,
      UPSTREAM_WATCH_PREVIOUS_COMMIT: previous ?? "",
      UPSTREAM_WATCH_REPO: this.#deps.repoRoot,
      UPSTREAM_WATCH_TRIGGER: run.trigger,
      UPSTREAM_WATCH_RUN_ID: String(run.runId),
    };
  }

  #finish(
    runId: number,
    service: string,
    reason: RunReason,
    outcome: StepsOutcome,
  ): RunSummary {
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
    this.#deps.store.finishRun(runId, {
      ...finished,
      finishedAt: this.#deps.now(),
      historyLimit: this.#config.historyLimit,
      // A removed service's on_remove run must keep its last deployed commit.
      recordsDeployment: reason.kind !== "removed",
    });
    return { service, runId, reason, ...finished };
  }

  /** SPEC §4: a removed service is reported once; its `on_remove_commands` run from a copy of its last deployed files. */
  async #reportRemoved(
    record: ServiceRecord,
    head: string,
    options: CycleOptions,
  ): Promise<void> {
    const { git, store, logger, now } = this.#deps;
    const deployed = record.deployedCommit!;
    logger.warn(
      "service_removed: {service} is no longer in the repository (last deployed {commit}); its state is kept",
      { service: record.name, commit: deployed.slice(0, 12) },
    );
    const commands = await this.#removeCommands(record.name, deployed);
    if (commands.length === 0) {
      store.markRemoved(record.name, now());
      return;
    }
    const reason: RunReason = { kind: "removed", deployedCommit: deployed };
    const runId = store.startRun({
      service: record.name,
      trigger: options.trigger,
      fromCommit: deployed,
      toCommit: head,
      startedAt: now(),
      reason,
    });
    const copy = await Deno.makeTempDir({ prefix: "upstream-watch-removed-" });
    try {
      await git.exportFolder(deployed, record.name, copy);
      const outcome = await runHookSteps({
        service: record.name,
        cwd: join(copy, record.name),
        config: {
          preUpdateCommands: [],
          updateCommands: [],
          postUpdateCommands: [],
          onFailureCommands: [],
          onRemoveCommands: commands,
          dependsOn: [],
          watchPaths: [],
          env: {},
        },
        steps: [{ step: "on_remove", commands }],
        agentEnv: this.#agentEnv(record.name, head, deployed, {
          trigger: options.trigger,
          runId,
        }),
        timeoutMs: this.#config.commandTimeout * 1000,
        signal: options.signal,
        runner: this.#deps.runner,
        logger,
        now,
        onCommandFinished: (command) => store.recordCommand(runId, command),
      });
      this.#finish(runId, record.name, reason, outcome);
    } catch (error) {
      this.#finish(runId, record.name, reason, {
        kind: "failed",
        step: "on_remove",
        command: "",
        exitCode: null,
        timedOut: false,
        message: `cannot prepare the removed service's files: ${
          error instanceof Error ? error.message : String(error)
        }`,
      });
    } finally {
      await Deno.remove(copy, { recursive: true });
    }
    store.markRemoved(record.name, now());
  }

  async #removeCommands(
    service: string,
    deployed: string,
  ): Promise<HookCommand[]> {
    const file = `${service}/${SERVICE_CONFIG_FILE}`;
    try {
      const text = await this.#deps.git.showFile(deployed, file);
      return parseServiceConfig(text, `${file}@${deployed.slice(0, 12)}`).config
        .onRemoveCommands;
    } catch (error) {
      this.#deps.logger.warn(
        "cannot read {file} at {commit}: {error}; no on_remove_commands run",
        {
          service,
          file,
          commit: deployed.slice(0, 12),
          error: error instanceof Error ? error.message : String(error),
        },
      );
      return [];
    }
  }
}

/** A stale `index.lock` is one older than this. */
const STALE_INDEX_LOCK_MS = 10_000;

function servicePaths(entry: ServiceEntry): string[] {
  return [entry.dir, ...(entry.config?.watchPaths ?? [])];
}

/** Unknown dependencies and dependency cycles are configuration errors of the services involved. */
function markDependencyErrors(services: ServiceEntry[]): void {
  const known = new Set(services.map((entry) => entry.name));
  const nodes = services.filter((entry) => entry.config).map((entry) => ({
    name: entry.name,
    dependsOn: entry.config!.dependsOn,
  }));
  const { unknown, cycles } = dependencyProblems(nodes, known);
  const byName = new Map(services.map((entry) => [entry.name, entry]));
  for (const [name, missing] of unknown) {
    const entry = byName.get(name)!;
    entry.error = new ConfigError(
      `depends on unknown service${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      }`,
      { file: entry.configFile, key: "depends_on" },
    );
    entry.config = undefined;
  }
  for (const cycle of cycles) {
    for (const name of cycle) {
      const entry = byName.get(name)!;
      entry.error = new ConfigError(
        `dependency cycle: ${[...cycle, cycle[0]].join(" → ")}`,
        { file: entry.configFile, key: "depends_on" },
      );
      entry.config = undefined;
    }
  }
}

/** A service whose dependency is out of date but held back waits too (nothing is recorded). */
function holdDependents(items: PlanItem[]): void {
  if (!items.some((item) => item.due)) return;
  const byName = new Map(items.map((item) => [item.service, item]));
  const order = dependencyOrder(
    items.map((item) => item.service),
    (name) =>
      byName.get(name)!.dependsOn.filter((dependency) =>
        byName.has(dependency)
      ),
  );
  for (const name of order) {
    const item = byName.get(name)!;
    if (!item.due) continue;
    const waiting = item.dependsOn.find((dependency) => {
      const other = byName.get(dependency);
      return other !== undefined && other.outOfDate && !other.due;
    });
    if (waiting !== undefined) {
      item.due = false;
      item.hold = { kind: "dependency", dependency: waiting };
    }
  }
}

function logHold(logger: Logger, item: PlanItem): void {
  const hold = item.hold!;
  logger.debug("not running: {why}", {
    service: item.service,
    why: describeHold(hold),
  });
}

/** A hold as JSON documents show it: times as ISO 8601 strings like every other time. */
export type HoldJson =
  | Exclude<Hold, { kind: "backoff" }>
  | { kind: "backoff"; attempts: number; nextAttemptAt: string };

/** The JSON form of a hold. */
export function holdJson(hold: Hold): HoldJson {
  return hold.kind === "backoff"
    ? { ...hold, nextAttemptAt: new Date(hold.nextAttemptAt).toISOString() }
    : hold;
}

/** A short human explanation of why an out-of-date service waits. */
export function describeHold(hold: Hold | HoldJson): string {
  switch (hold.kind) {
    case "backoff":
      return `failed ${hold.attempts}×, next attempt at ${
        new Date(hold.nextAttemptAt).toISOString()
      }`;
    case "exhausted":
      return `failed ${hold.attempts}× at ${
        hold.revision.slice(0, 12)
      }; waiting for a new commit or a manual deploy`;
    case "dependency":
      return `waiting for dependency ${hold.dependency}`;
  }
}

/** A short human explanation of why a run happened. */
export function describeReason(reason: RunReason): string {
  switch (reason.kind) {
    case "first_deploy":
      return "never deployed";
    case "changed": {
      const shown = reason.paths.slice(0, 3).join(", ");
      const more = reason.totalPaths - Math.min(3, reason.paths.length);
      return `changed: ${shown}${more > 0 ? ` and ${more} more` : ""}`;
    }
    case "history_rewritten":
      return `deployed commit ${
        reason.deployedCommit.slice(0, 12)
      } no longer exists`;
    case "interrupted":
      return "previous run was interrupted";
    case "manual":
      return "manual deploy";
    case "removed":
      return "service removed from the repository";
  }
}

/** Limits how many services run at once. */
class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = size;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
