/**
 * Self-heal: while the daemon polls, each up-to-date service with a
 * `check_interval` has its health commands run on their own schedule; a
 * failing check redeploys the same revision (trigger `heal`).
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import { StateWriteError } from "../errors.ts";
import { checkHealth, type HealthOutcome } from "../hooks/health_step.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { RollbackRecord } from "../state/rollbacks.ts";
import { type Suspension, suspensionOf } from "../state/suspensions.ts";
import type { ServiceRecord } from "../state/types.ts";
import type { CyclePlan } from "./cycle_types.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { type FailureRecord, retryHold } from "./retry.ts";
import type { ServiceActivity } from "./service_activity.ts";
import { hookSettings, workTreeFiles } from "./service_run.ts";
import type { ServiceEntry } from "./services.ts";
import type { RunningRevision } from "./held_revision.ts";

/** What decides whether a service's health may be checked now. */
export interface CheckableInputs {
  plan: Pick<CyclePlan, "head" | "items" | "services">;
  state: ReadonlyMap<string, ServiceRecord>;
  suspensions: ReadonlyMap<string, Suspension>;
  rollbacks: ReadonlyMap<string, RollbackRecord>;
  /** Services whose update (or heal) runs now. */
  running: (service: string) => boolean;
}

/**
 * The services whose health is checked: a `check_interval` and health
 * commands, deployed and either up to date or held after a rollback (checked
 * at the commit they run), not suspended, not running.
 */
export function checkableServices(inputs: CheckableInputs): ServiceEntry[] {
  const items = new Map(inputs.plan.items.map((item) => [item.service, item]));
  return inputs.plan.services.filter((entry) => {
    const config = entry.config;
    if (!config?.checkInterval || !config.healthCommands?.length) return false;
    const item = items.get(entry.name);
    if (!item) return false;
    // A held service runs the commit it was rolled back to: that one is checked.
    const held = item.hold?.kind === "rolled_back";
    if (!held && (item.outOfDate || item.hold)) return false;
    const record = inputs.state.get(entry.name);
    if (!record?.deployedCommit) return false;
    if (suspensionOf(inputs.suspensions, entry.name)) return false;
    // A rollback in progress has the folder.
    if (inputs.rollbacks.get(entry.name)?.state === "running") return false;
    return !inputs.running(entry.name);
  });
}

/** Whether a heal may run now for a service whose check failed (heal failures back off like any). */
export function healAllowed(
  record: ServiceRecord | undefined,
  options: { now: number; maxAttempts: number; backoffSeconds: number },
): boolean {
  if (!record || record.failedAttempts === 0 || !record.failedRevision) {
    return true;
  }
  return retryHold(record, { ...options, revision: record.failedRevision }) ===
    undefined;
}

/** What the self-heal loop works with. */
export interface SelfHealDeps {
  /** The newest plan, the activity and the heal of the agent. */
  agent: {
    readonly lastPlan?: CyclePlan;
    readonly activity: ServiceActivity;
    /** The repository configuration in effect. */
    readonly config: RepoConfig;
    heal(
      entry: ServiceEntry,
      options: { head: string; error: string; signal?: AbortSignal },
    ): Promise<RunSummary | undefined>;
    /** The revision the service runs: its checks use that revision's health commands. */
    runningRevision(
      entry: ServiceEntry,
      head: string,
    ): Promise<RunningRevision | undefined>;
  };
  /** Fresh state on every tick: the CLI may suspend or resume meanwhile. */
  state: () => Omit<CheckableInputs, "plan" | "running">;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  repoRoot: string;
  /** Told about each check's result (metrics, notifications). */
  onCheck?: (service: string, outcome: HealthOutcome, commit: string) => void;
  /** Told about each heal run. */
  onHeal?: (summary: RunSummary) => void;
  /** How often the loop looks for services whose check is due (ms). */
  tickMs?: number;
  /** Why the state file cannot be written, if it cannot: no check or heal runs meanwhile. */
  stateProblem?: () => string | undefined;
}

/** The self-heal loop; {@link SelfHealer.run} returns when `stop` is aborted and every check has ended. */
export class SelfHealer {
  readonly #deps: SelfHealDeps;
  /** Per service: the check in progress (its controller) and when the next one is due. */
  readonly #checks = new Map<string, AbortController>();
  readonly #nextAt = new Map<string, number>();
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Per service: the heals of the open incident. A heal after which the
   * checks still fail counts as a failed attempt, even when its run passed
   * its own health step, so `max_attempts` and the backoff bound it.
   */
  readonly #incidents = new Map<
    string,
    FailureRecord & { failedRevision: string; gaveUp: boolean }
  >();
  /** Most checks of one service ever in progress at once (stays 1; tests read it). */
  maxConcurrentChecks = 0;
  #kill?: AbortSignal;

  constructor(deps: SelfHealDeps) {
    this.#deps = deps;
  }

  /** Runs until `stop` is aborted; in-flight checks are killed, a heal run is killed by `kill`. */
  async run(stop: AbortSignal, kill?: AbortSignal): Promise<void> {
    this.#kill = kill;
    const unsubscribe = this.#deps.agent.activity.onRunStart((service) => {
      // An update of the service starts: its check must not run beside it.
      this.#checks.get(service)?.abort();
    });
    const tickMs = this.#deps.tickMs ?? 250;
    try {
      while (!stop.aborted) {
        try {
          this.#tick(stop);
        } catch (error) {
          // Reading the state may fail too; the daemon reports it.
          if (!(error instanceof StateWriteError)) throw error;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, tickMs);
          function done() {
            clearTimeout(timer);
            stop.removeEventListener("abort", done);
            resolve();
          }
          stop.addEventListener("abort", done, { once: true });
        });
      }
    } finally {
      unsubscribe();
      for (const controller of this.#checks.values()) controller.abort();
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  #tick(stop: AbortSignal): void {
    const { agent, now } = this.#deps;
    const plan = agent.lastPlan;
    // Nothing to read from the state while no service asks for checks.
    if (!plan?.services.some((entry) => entry.config?.checkInterval)) return;
    // A heal could not be recorded: the daemon waits until writes succeed.
    if (this.#deps.stateProblem?.() !== undefined) return;
    const checkable = checkableServices({
      plan,
      ...this.#deps.state(),
      running: (service) => agent.activity.isRunning(service),
    });
    for (const entry of checkable) {
      if (this.#checks.has(entry.name)) continue;
      const due = this.#nextAt.get(entry.name) ?? 0;
      if (now() < due) continue;
      const work = this.#check(entry, plan.head, stop).catch((error) => {
        // A state file that cannot be written is the daemon's to report.
        if (error instanceof StateWriteError) return;
        throw error;
      });
      this.#inFlight.add(work);
      work.finally(() => this.#inFlight.delete(work));
    }
  }

  async #check(entry: ServiceEntry, head: string, stop: AbortSignal) {
    const { agent, logger, now } = this.#deps;
    const controller = new AbortController();
    this.#checks.set(entry.name, controller);
    this.maxConcurrentChecks = Math.max(
      this.maxConcurrentChecks,
      [...this.#checks.keys()].filter((name) => name === entry.name).length,
    );
    let outcome: HealthOutcome;
    let commit = head;
    let held = false;
    try {
      const running = await agent.runningRevision(entry, head);
      if (!running?.config.healthCommands?.length) return;
      commit = running.commit;
      held = running.kind === "held";
      // Read on every check: the configuration reloads; a held service's hook file is its running revision's.
      const settings = hookSettings(
        agent.config,
        workTreeFiles(this.#deps.repoRoot, {
          ...entry,
          config: running.config,
        }),
      );
      outcome = await checkHealth({
        service: entry.name,
        cwd: settings.cwd,
        config: running.config,
        env: {
          UPSTREAM_WATCH_SERVICE: entry.name,
          UPSTREAM_WATCH_COMMIT: commit,
          UPSTREAM_WATCH_REPO: this.#deps.repoRoot,
          UPSTREAM_WATCH_TRIGGER: "heal",
        },
        commandTimeoutMs: settings.timeoutMs,
        withheldEnv: settings.withheldEnv,
        runner: this.#deps.runner,
        logger,
        now,
        signal: controller.signal,
      });
    } finally {
      this.#checks.delete(entry.name);
      this.#nextAt.set(
        entry.name,
        now() + entry.config!.checkInterval! * 1000,
      );
    }
    if (outcome.kind === "interrupted" || stop.aborted) return;
    this.#deps.onCheck?.(entry.name, outcome, commit);
    if (outcome.kind === "passed") {
      this.#incidents.delete(entry.name);
      return;
    }
    logger.warn("health check failed: {error}", {
      service: entry.name,
      error: outcome.message,
    });
    if (!this.#healAllowed(entry.name, commit, held)) return;
    if (stop.aborted) return;
    const summary = await agent.heal(entry, {
      head,
      error: outcome.message,
      signal: this.#kill,
    });
    if (!summary) return;
    const incident = this.#incidents.get(entry.name);
    this.#incidents.set(entry.name, {
      failedAttempts: incident?.failedRevision === commit
        ? incident.failedAttempts + 1
        : 1,
      failedRevision: commit,
      lastFailureAt: now(),
      gaveUp: false,
    });
    this.#deps.onHeal?.(summary);
  }

  /** Failed heal runs and heals that did not take both wait for their backoff and stop at `max_attempts`. */
  #healAllowed(service: string, revision: string, held: boolean): boolean {
    const { agent, logger, now } = this.#deps;
    const policy = {
      now: now(),
      maxAttempts: agent.config.maxAttempts,
      backoffSeconds: agent.config.retryBackoff,
    };
    const record = this.#deps.state().state.get(service);
    // A held service's failed attempts are the held revision's: only a failed heal since makes it wait.
    const backsOff = !held || record?.lastOutcome === "failed";
    if (backsOff && !healAllowed(record, policy)) {
      logger.debug("not healing: failed heals wait for their backoff", {
        service,
      });
      return false;
    }
    const incident = this.#incidents.get(service);
    const hold = retryHold(incident, { ...policy, revision });
    if (hold === undefined) return true;
    if (hold.kind === "exhausted" && incident && !incident.gaveUp) {
      incident.gaveUp = true;
      logger.warn(
        "health checks still fail after {attempts} heals; not healing again until a check passes or a new revision arrives",
        { service, attempts: hold.attempts },
      );
    } else {
      logger.debug(
        "not healing: the last heal did not take; waiting for its backoff",
        {
          service,
        },
      );
    }
    return false;
  }
}
