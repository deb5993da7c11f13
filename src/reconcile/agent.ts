/**
 * The agent reads as its cycle (docs/design.md#the-cycle): sync the work tree,
 * plan what is due, run it, record and report. Each stage lives in a module of
 * its own; this class holds the state the stages share between cycles. The
 * modules that run hooks (runs, rollbacks, removals, heals) are imported at
 * their first use: `status`, `plan` and `validate` build an agent only to
 * plan, and need not load them.
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import { shortCommit } from "../git/commit_id.ts";
import { rollbacks } from "../state/rollbacks.ts";
import type { AgentDeps } from "./agent_deps.ts";
import type { CycleOptions, CyclePlan } from "./cycle_types.ts";
import type { CycleResult, RunSummary } from "../results/cycle_result.ts";
import { describeHold } from "../results/describe.ts";
import { NewestCommits } from "./newest_commits.ts";
import { PlanItems } from "./plan_items.ts";
import type { RunningRevision } from "./held_revision.ts";
import type { OperatorRunDeps } from "./operator_runs.ts";
import { RunGate } from "./run_gate.ts";
import type { RunContext } from "./service_run.ts";
import type { ScheduledRun } from "./schedule.ts";
import { ServiceActivity } from "./service_activity.ts";
import { ServiceCatalog } from "./service_catalog.ts";
import { runsOnHost, selectServices, type ServiceEntry } from "./services.ts";
import { type Synced, syncStage } from "./sync_stage.ts";

export type { AgentDeps } from "./agent_deps.ts";

/** The update cycle: sync, work out what is due, run it, record it. */
export class Agent {
  readonly #deps: AgentDeps;
  readonly #catalog: ServiceCatalog;
  readonly #planItems: PlanItems;
  readonly #newest: NewestCommits;
  /** What every run works with (the configuration is read as each run needs it). */
  readonly #runContext: RunContext;
  /** Runs share the work tree; a rollback has it alone. */
  readonly #gate = new RunGate();
  /** Which services are running now: one run of a service at a time, and no check during it. */
  readonly activity = new ServiceActivity();
  /** The newest cycle's plan, for the self-heal checks. */
  lastPlan?: CyclePlan;
  #rollbacksRepaired = false;

  constructor(deps: AgentDeps) {
    this.#deps = deps;
    this.#catalog = new ServiceCatalog(deps);
    this.#newest = new NewestCommits(deps.git);
    this.#planItems = new PlanItems({ ...deps, newest: this.#newest });
    this.#runContext = { ...deps, commits: this.#newest };
  }

  /** The repository configuration in effect (reloaded when HEAD moves). */
  get config(): RepoConfig {
    return this.#deps.config.current;
  }

  /** Services at `commit`, parsed once per commit: an idle cycle reads no file and starts no extra git process. */
  services(
    commit: string,
    config: RepoConfig = this.config,
  ): Promise<ServiceEntry[]> {
    return this.#catalog.services(commit, config);
  }

  /** Works out which services are due at the upstream commit without running anything (`move` also syncs the work tree). */
  async plan(
    options: { fetch: boolean; move: boolean; signal?: AbortSignal },
  ): Promise<CyclePlan> {
    try {
      return await this.#plan(options);
    } finally {
      this.#deps.git.reads.dropReadAhead();
    }
  }

  /** {@link plan}, leaving what was read ahead for the runs that follow it. */
  async #plan(
    options: { fetch: boolean; move: boolean; signal?: AbortSignal },
  ): Promise<CyclePlan> {
    const synced = await syncStage(this.#deps, {
      ...options,
      readAhead: (before, upstream) => this.#readAhead(before, upstream),
    });
    return await this.#planAt(synced);
  }

  /**
   * While the work tree moves: the git questions the plan at `upstream` will
   * ask first, guessed from the services at `before` (a guess that turns out
   * wrong costs a process that ran meanwhile, nothing else). The diff from
   * `before` answers the service listing and whether the repository
   * configuration changed; the plan's diffs compose through it.
   */
  #readAhead(before: string, upstream: string): void {
    this.#newest.moving(before, upstream);
    // First, before the state is read: the other diffs compose through this one.
    this.#deps.git.reads.changesFrom([before], upstream).catch(() => {});
    const services = this.#catalog.cached(before);
    if (services) {
      this.#planItems.readAhead(
        services.filter((entry) => runsOnHost(entry, this.#deps.host)),
        this.#deps.store.services(),
        upstream,
      );
    }
  }

  /** Plan stage: this host's services at the synced commit, their verdicts and holds, and the services that left. */
  async #planAt({ sync, head, rejection }: Synced): Promise<CyclePlan> {
    const all = await this.services(head);
    const services = all.filter((entry) => runsOnHost(entry, this.#deps.host));
    const state = this.#deps.store.services();
    const items = await this.#planItems.items(
      services,
      state,
      head,
      this.config,
    );
    const present = new Set(all.map((entry) => entry.name));
    const removed = this.config.singleDirectoryMode ? [] : [...state.values()]
      .filter((record) =>
        record.deployedCommit !== null && record.removedAt === null &&
        !present.has(record.name)
      );
    return { sync, head, items, services, removed, rejection };
  }

  /** One cycle: sync, plan, report removed services, run every due service in dependency order, record each run. */
  async runCycle(options: CycleOptions): Promise<CycleResult> {
    try {
      return await this.#cycle(options);
    } finally {
      this.#deps.git.reads.dropReadAhead();
    }
  }

  /** {@link runCycle}: its runs take what the plan read ahead for them. */
  async #cycle(options: CycleOptions): Promise<CycleResult> {
    const { logger } = this.#deps;
    // Runs recorded into a removed or replaced file would be lost: stop first.
    this.#deps.store.assertFileIntact();
    const repaired = await this.#repairRollbacks(options);
    const plan = await this.#plan({
      fetch: true,
      move: true,
      signal: options.signal,
    });
    if (plan.sync.after !== plan.sync.before) {
      logger.info("updated work tree {from} → {to}", {
        from: shortCommit(plan.sync.before),
        to: shortCommit(plan.sync.after),
        commit: plan.sync.after,
      });
    }
    const removed = await this.#reportRemoved(plan, options);
    for (const item of plan.items) {
      if (!item.hold) continue;
      logger.debug("not running: {why}", {
        service: item.service,
        why: describeHold(item.hold),
      });
    }
    const byName = new Map(plan.services.map((entry) => [entry.name, entry]));
    const runs = await this.#runDue(
      plan.items.filter((item) => item.due).map((item) => ({
        entry: byName.get(item.service)!,
        reason: item.reason!,
        deployedCommit: item.deployedCommit,
      })),
      plan.head,
      options,
    );
    this.#record(plan, runs);
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

  /** Reports each service that left the repository (until a graceful stop); returns their names. */
  async #reportRemoved(
    plan: CyclePlan,
    options: CycleOptions,
  ): Promise<string[]> {
    const removed: string[] = [];
    if (plan.removed.length === 0) return removed;
    const { reportRemoved } = await import("./removed.ts");
    for (const record of plan.removed) {
      if (options.stop?.aborted) break;
      await reportRemoved(record, {
        ...this.#runContext,
        head: plan.head,
        trigger: options.trigger,
        signal: options.signal,
      });
      removed.push(record.name);
    }
    return removed;
  }

  /** Record stage: the plan as it stands after the runs, for the self-heal checks. */
  #record(plan: CyclePlan, runs: readonly RunSummary[]): void {
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
    const runs = await this.#runDue(
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
        commit: shortCommit(head),
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
    return selectServices(services, names);
  }

  /** Run stage: the due services through the scheduler, with a rollback after each failed deploy that asks for one. */
  async #runDue(
    scheduled: readonly ScheduledRun[],
    head: string,
    options: CycleOptions,
  ): Promise<RunSummary[]> {
    const { runDue } = await import("./run_due.ts");
    return await runDue(scheduled, head, options, {
      context: this.#runContext,
      gate: this.#gate,
      activity: this.activity,
    });
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
    const { repairRollbacks } = await import("./rollback.ts");
    return await this.#gate.exclusive(() =>
      repairRollbacks({
        ...this.#runContext,
        signal: options.signal,
        head,
        services,
      })
    );
  }

  /** Self-heal: redeploys the revision the service runs (trigger `heal`), unless suspended or busy; a held service is healed at the commit it was rolled back to. */
  async heal(
    entry: ServiceEntry,
    options: { head: string; error: string; signal?: AbortSignal },
  ): Promise<RunSummary | undefined> {
    const { healService } = await import("./operator_runs.ts");
    return await healService(entry, options, this.#runDeps());
  }

  /** The revision `entry` runs and is checked at: HEAD's, or the rolled-back-to commit while HEAD's is held. */
  async runningRevision(
    entry: ServiceEntry,
    head: string,
  ): Promise<RunningRevision | undefined> {
    const { runningRevisionOf } = await import("./operator_runs.ts");
    return await runningRevisionOf(entry, head, this.#runDeps());
  }

  /** `rollback SERVICE [--to COMMIT]` (docs/commands.md#rollback): HEAD's revision is held afterwards. */
  async rollback(
    name: string,
    options: { to?: string; signal?: AbortSignal },
  ): Promise<RunSummary> {
    const [head] = await this.#deps.git.revParse(["HEAD"]);
    const [entry] = await this.#select(head, [name]);
    const { manualRollback } = await import("./operator_runs.ts");
    return await manualRollback(entry, { ...options, head }, this.#runDeps());
  }

  #runDeps(): OperatorRunDeps {
    return {
      context: this.#runContext,
      gate: this.#gate,
      activity: this.activity,
    };
  }
}
