import { logConfigWarnings } from "../log/config_warnings.ts";
import { join, resolve } from "node:path";
import { loadCommittedRepoConfig } from "../config/committed.ts";
import { configEnvReferences } from "../config/env_references.ts";
import { loadRepoConfig } from "../config/load.ts";
import { type RepoConfig, SERVICE_CONFIG_FILE } from "../config/types.ts";
import { ConfigError, UsageError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { runHookSteps, type StepsOutcome } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type { RunReason, ServiceRecord, Trigger } from "../state/types.ts";
import { decideDue, diffBases, type ServiceTarget } from "./due.ts";
import { holdDependents, markDependencyErrors } from "./dependencies.ts";
import { describeHold, describeReason } from "./describe.ts";
import { retryHold } from "./retry.ts";
import { reportRemoved } from "./removed.ts";
import { runScheduled, type ScheduledRun } from "./schedule.ts";
import {
  deserializeParsedHookFile,
  discoverServices,
  type ParsedHookFile,
  runsOnHost,
  serializeParsedHookFile,
  type ServiceEntry,
} from "./services.ts";
import { VERSION } from "../version.ts";
import { syncRepository } from "./sync.ts";
import { rollbacks } from "../state/rollbacks.ts";
import { suspensionOf, suspensions } from "../state/suspensions.ts";
import {
  repairRollbacks,
  type RollbackDeps,
  rollbackTarget,
  RunGate,
  runRollback,
} from "./rollback.ts";
import { safetyHold } from "./safety_holds.ts";
import { ServiceActivity } from "./self_heal.ts";
import type { CommitVerifier } from "../verify/verifier.ts";
import { VerificationError } from "../verify/verification_error.ts";
import type { RunListener } from "./run_listener.ts";

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
  /** True: `.upstream-watch.yaml` is read from the commit's git objects, not from `configPath`. */
  configFromGit: boolean;
  config: RepoConfig;
  host: string;
  remote: string;
  branch: string;
  /** Signed-commit verification before the work tree moves (off when absent). */
  verifier?: CommitVerifier;
  /** Told when each run starts and ends (commit statuses). */
  runListeners?: RunListener[];
}

import type {
  CycleOptions,
  CyclePlan,
  CycleResult,
  Hold,
  PlanItem,
  RunSummary,
} from "./cycle_types.ts";

/** The update cycle of SPEC §4: sync, work out what is due, run it, record it. */
export class Agent {
  readonly #deps: AgentDeps;
  #config: RepoConfig;
  #servicesAt?: { commit: string; services: ServiceEntry[] };
  /** Parsed hook files by blob id and path: a HEAD move re-parses only the hook files it changed. */
  #parsed = new Map<string, ParsedHookFile>();
  #parsedLoaded = false;
  /** Unusable deployed commits already logged (service and value), so each is reported once. */
  #reportedInvalidCommits = new Set<string>();
  /** Diffs and revisions never change for a given pair of commits; kept for the current target only. */
  #gitCache = {
    head: "",
    diffs: new Map<string, string[]>(),
    revisions: new Map<string, string>(),
  };

  /** Runs share the work tree; a rollback has it alone. */
  readonly #gate = new RunGate();
  /** Which services are running now: one run of a service at a time, and no check during it. */
  readonly activity = new ServiceActivity();
  /** The newest cycle's plan, for the self-heal checks. */
  lastPlan?: CyclePlan;
  #rollbacksRepaired = false;

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    this.#config = deps.config;
  }

  /** The repository configuration in effect (reloaded when HEAD moves). */
  get config(): RepoConfig {
    return this.#config;
  }

  /** Services at `commit`, parsed once per commit: an idle cycle reads no file and starts no extra git process. */
  async services(commit: string): Promise<ServiceEntry[]> {
    if (this.#servicesAt?.commit === commit) return this.#servicesAt.services;
    const { git, store } = this.#deps;
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
      logConfigWarnings(this.#deps.logger, service.warnings, {
        service: service.name,
      });
    }
    this.#servicesAt = { commit, services };
    return services;
  }

  /** Works out which services are due at the upstream commit without running anything. */
  async plan(
    options: { fetch: boolean; move: boolean; signal?: AbortSignal },
  ): Promise<CyclePlan> {
    await this.#repairClone(options.move);
    const verifier = this.#deps.verifier;
    let rejection: CyclePlan["rejection"];
    const sync = await syncRepository(this.#deps.git, {
      remote: this.#deps.remote,
      branch: this.#deps.branch,
      mode: this.#config.sync,
      fetch: options.fetch,
      move: options.move,
      signal: options.signal,
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
    if (sync.after !== sync.before) await this.#reloadConfig(sync.after);
    const all = await this.services(head);
    const services = all.filter((entry) => runsOnHost(entry, this.#deps.host));
    const state = this.#deps.store.services();
    const items = await this.#verdicts(services, state, head);
    const present = new Set(all.map((entry) => entry.name));
    const removed = this.#config.singleDirectoryMode ? [] : [...state.values()]
      .filter((record) =>
        record.deployedCommit !== null && record.removedAt === null &&
        !present.has(record.name)
      );
    return { sync, head, items, services, removed, rejection };
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
    for (const entry of services) {
      const invalid = state.get(entry.name)?.invalidDeployedCommit;
      const key = `${entry.name}\0${invalid}`;
      if (invalid === undefined || this.#reportedInvalidCommits.has(key)) {
        continue;
      }
      this.#reportedInvalidCommits.add(key);
      logger.error(
        "the state file records {value} as the deployed commit of {service}, which is not a commit id; the service counts as never deployed",
        { service: entry.name, value: JSON.stringify(invalid) },
      );
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
    const suspended = suspensions(this.#deps.store);
    const rolledBack = rollbacks(this.#deps.store);
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
      if (verdict.due) {
        const rollback = rolledBack.get(entry.name);
        hold = safetyHold(entry.name, {
          suspensions: suspended,
          rollback,
          // Only a service rolled back from its deployed commit may be held: a revision costs a git process.
          revision: rollback?.deployedCommit === verdict.deployedCommit
            ? await this.#revision(entry, head)
            : undefined,
          deployedCommit: verdict.deployedCommit,
        });
      }
      if (!hold && verdict.due && record && record.failedAttempts > 0) {
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

  async #reloadConfig(commit: string): Promise<void> {
    try {
      const { config, warnings } = this.#deps.configFromGit
        ? await loadCommittedRepoConfig(this.#deps.git, commit)
        : await loadRepoConfig(
          this.#deps.configPath,
          this.#deps.configDisplay,
        );
      logConfigWarnings(this.#deps.logger, warnings);
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
    // Runs recorded into a removed or replaced file would be lost: stop first.
    this.#deps.store.assertFileIntact();
    const repaired = await this.#repairRollbacks(options);
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
    // Services deployed by this cycle are up to date: their checks need not wait for the next one.
    const deployed = new Set(
      runs.filter((run) =>
        run.outcome === "succeeded" && run.reason.kind !== "rollback"
      ).map((run) => run.service),
    );
    this.lastPlan = {
      ...plan,
      items: plan.items.map((item) =>
        deployed.has(item.service)
          ? { ...item, outOfDate: false, due: false, hold: undefined }
          : item
      ),
    };
    if (runs.length === 0 && removed.length === 0) {
      logger.debug("nothing to do at {commit}", { commit: plan.head });
    }
    return {
      trigger: options.trigger,
      sync: plan.sync,
      runs: [...repaired, ...runs],
      removed,
      failed: runs.some((run) => run.outcome === "failed"),
    };
  }

  /** `deploy`: runs the named services (or all) at HEAD now, due or not, in dependency order. */
  async deploy(
    names: readonly string[] | "all",
    options: CycleOptions,
  ): Promise<CycleResult> {
    const repaired = await this.#repairRollbacks(options);
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
      runs: [...repaired, ...runs],
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

  /** Names of this host's services at HEAD (for checking names given on the command line). */
  async serviceNames(): Promise<string[]> {
    const [head] = await this.#deps.git.revParse(["HEAD"]);
    return (await this.#select(head, "all")).map((entry) => entry.name);
  }

  async #select(
    head: string,
    names: readonly string[] | "all",
  ): Promise<ServiceEntry[]> {
    const services = (await this.services(head)).filter((entry) =>
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

  /** The scheduler with this agent's store, clock, logger and current limits; each run goes through {@link Agent.runService}. */
  async #runScheduled(
    scheduled: readonly ScheduledRun[],
    head: string,
    options: CycleOptions,
  ): Promise<RunSummary[]> {
    const { store, logger, now } = this.#deps;
    const rolledBack = new Map<number, RunSummary>();
    const summaries = await runScheduled(scheduled, {
      head,
      trigger: options.trigger,
      stop: options.stop,
      signal: options.signal,
      parallel: this.#config.parallel,
      historyLimit: this.#config.historyLimit,
      store,
      logger,
      now,
      runService: async (run) => {
        const name = run.entry.name;
        // Read before every service: a `suspend` takes effect while the daemon runs.
        const suspension = suspensionOf(suspensions(store), name);
        if (suspension && !options.force) {
          logger.info("not running: suspended", { service: name });
          return undefined;
        }
        const summary = await this.#gate.shared(() =>
          this.activity.run(name, () =>
            this.runService(run.entry, {
              head,
              reason: run.reason,
              deployedCommit: run.deployedCommit,
              trigger: options.trigger,
              signal: options.signal,
            }))
        );
        const target = rollbackTarget(summary, {
          config: run.entry.config,
          deployedCommit: run.deployedCommit,
          head,
        });
        if (target && !options.signal?.aborted) {
          const revision = store.run(summary.runId)?.revision ?? head;
          rolledBack.set(
            summary.runId,
            await this.#gate.exclusive(() =>
              this.activity.run(name, () =>
                runRollback({
                  entry: run.entry,
                  failedCommit: head,
                  failedRunId: summary.runId,
                  revision,
                  deployedCommit: target,
                }, this.#rollbackDeps(options.signal)))
            ),
          );
        }
        return summary;
      },
    });
    return summaries.flatMap((summary) => {
      const rollback = rolledBack.get(summary.runId);
      return rollback ? [summary, rollback] : [summary];
    });
  }

  #rollbackDeps(signal?: AbortSignal): RollbackDeps {
    const { git, store, runner, logger, now, repoRoot } = this.#deps;
    return {
      git,
      store,
      runner,
      logger,
      now,
      repoRoot,
      config: this.#config,
      signal,
      agentEnv: (...args) => this.#agentEnv(...args),
      finish: (...args) => this.#finish(...args),
      listeners: this.#deps.runListeners ?? [],
    };
  }

  /** Once per agent: a rollback cut off by a crash gets its folder restored to HEAD, then runs again. */
  async #repairRollbacks(options: CycleOptions): Promise<RunSummary[]> {
    if (this.#rollbacksRepaired || this.#deps.store.readOnly) return [];
    this.#rollbacksRepaired = true;
    const cutOff = [...rollbacks(this.#deps.store).values()].filter((record) =>
      record.state === "running"
    );
    if (cutOff.length === 0) return [];
    const [head] = await this.#deps.git.revParse(["HEAD"]);
    const services = await this.services(head);
    return await this.#gate.exclusive(() =>
      repairRollbacks({
        ...this.#rollbackDeps(options.signal),
        head,
        services,
      })
    );
  }

  /** Self-heal: redeploys the service's deployed revision (trigger `heal`), unless suspended or busy. */
  async heal(
    entry: ServiceEntry,
    options: { head: string; error: string; signal?: AbortSignal },
  ): Promise<RunSummary | undefined> {
    const { head, error } = options;
    if (suspensionOf(suspensions(this.#deps.store), entry.name)) {
      return undefined;
    }
    const record = this.#deps.store.services().get(entry.name);
    const deployedCommit = record?.deployedCommit;
    if (!deployedCommit || this.activity.isRunning(entry.name)) {
      return undefined;
    }
    return await this.#gate.shared(() =>
      this.activity.run(entry.name, () =>
        this.runService(entry, {
          head,
          reason: { kind: "heal", error },
          deployedCommit,
          trigger: "heal",
          signal: options.signal,
        }))
    );
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
    const started = {
      service: entry.name,
      runId,
      commit: options.head,
      trigger: options.trigger,
    };
    for (const listener of this.#deps.runListeners ?? []) {
      listener.runStarted(started);
    }
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
        withheldEnv: configEnvReferences(this.#config),
        timeoutMs: (entry.config.timeout ?? this.#config.commandTimeout) * 1000,
        signal: options.signal,
        runner: this.#deps.runner,
        // Every command and output line carries the run's service, id and commit.
        logger: log,
        now,
        onCommandStarted: (group) => store.recordProcessGroup(runId, group),
        onCommandFinished: (command) => store.recordCommand(runId, command),
      });
    }
    const summary = this.#finish(runId, entry.name, reason, outcome);
    for (const listener of this.#deps.runListeners ?? []) {
      listener.runFinished({ ...started, summary });
    }
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
      recordsDeployment: reason.kind !== "removed" &&
        reason.kind !== "rollback",
    });
    return { service, runId, reason, ...finished };
  }

  /** Hands a removed service to {@link reportRemoved} with this agent's dependencies, environment and finish path. */
  #reportRemoved(
    record: ServiceRecord,
    head: string,
    options: CycleOptions,
  ): Promise<void> {
    const { git, store, runner, logger, now } = this.#deps;
    return reportRemoved(record, {
      head,
      trigger: options.trigger,
      signal: options.signal,
      git,
      store,
      runner,
      logger,
      now,
      config: this.#config,
      agentEnv: (...args) => this.#agentEnv(...args),
      finish: (...args) => this.#finish(...args),
    });
  }
}

/** A stale `index.lock` is one older than this. */
const STALE_INDEX_LOCK_MS = 10_000;

function servicePaths(entry: ServiceEntry): string[] {
  return [entry.dir, ...(entry.config?.watchPaths ?? [])];
}

function logHold(logger: Logger, item: PlanItem): void {
  const hold = item.hold!;
  logger.debug("not running: {why}", {
    service: item.service,
    why: describeHold(hold),
  });
}
