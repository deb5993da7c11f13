/** Turns cycle reports into notifications for the configured targets (docs/notifications.md, docs/design.md#notifications). */
import type { NotifyTarget } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import type { CycleObserver, CycleReport } from "../results/cycle_result.ts";
import type { CycleResult } from "../results/cycle_result.ts";
import type { StateStore } from "../state/store.ts";
import { configRefusal } from "../state/config_record.ts";
import {
  configInvalidEvent,
  cycleEvents,
  type NotificationEvent,
  type NotifyEventName,
  stateLostEvent,
  stateUnwritableEvent,
  syncFailedEvent,
  syncRecoveredEvent,
  verificationFailedEvent,
} from "./event.ts";
import type { StateLostError } from "../errors.ts";
import type { EventContextSource } from "./event_context.ts";
import { VerificationError } from "../verify/verification_error.ts";

/** Prefix of the persistent "verification_failed sent for this commit" markers. */
export const VERIFICATION_FAILED_KEY = "verification_failed";
/** Prefix of the persistent "config_invalid sent for this commit" markers. */
const CONFIG_INVALID_KEY = "config_invalid";
import { NotificationQueue, type NotificationQueueOptions } from "./queue.ts";
import {
  type ResolvedTarget,
  resolveTargets,
  type ResolveTargetsOptions,
  subscribes,
} from "./target.ts";

/** Key of the persistent "sync is failing since" marker (one `sync_failed` per outage, across restarts). */
export const SYNC_FAILING_KEY = "sync_failing_since";

/** What a {@link Notifier} works with. */
export interface NotifierDeps {
  targets: ResolvedTarget[];
  queue: NotificationQueue;
  store: StateStore;
  logger: Logger;
  host: string;
  now: () => number;
  /** Used to re-resolve targets after the configuration changed in git. */
  resolve?: ResolveTargetsOptions;
  /** The `notify:` list in effect now (the agent reloads its configuration when HEAD moves). */
  configuredTargets?: () => readonly NotifyTarget[];
}

/** Decides which events a cycle produced and queues them for every subscribed target. */
export class Notifier implements CycleObserver {
  readonly #deps: NotifierDeps;
  #targets: ResolvedTarget[];
  #configured?: string;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    this.#targets = deps.targets;
  }

  /** The targets in effect. */
  get targets(): readonly ResolvedTarget[] {
    return this.#targets;
  }

  /**
   * Takes the `notify:` list of a reloaded configuration; a list that cannot
   * be resolved (e.g. a new `${VAR}` that is not set) keeps the old targets.
   */
  updateTargets(targets: readonly NotifyTarget[]): void {
    const configured = JSON.stringify(targets);
    if (this.#configured === undefined) {
      this.#configured = configured;
      return;
    }
    if (configured === this.#configured || !this.#deps.resolve) return;
    this.#configured = configured;
    try {
      this.#targets = resolveTargets(targets, this.#deps.resolve);
      this.#deps.logger.info("notification targets reloaded: {targets}", {
        targets: this.#targets.map((target) => target.label).join(", ") ||
          "(none)",
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#deps.logger.error(
        "{error}; keeping the previous notification targets",
        { error: error.message },
      );
    }
  }

  /** Queues the cycle's events; returns at once (delivery happens in the background). */
  cycleFinished(report: CycleReport): void {
    if (this.#deps.configuredTargets) {
      this.updateTargets(this.#deps.configuredTargets());
    }
    if (this.#targets.length === 0) return;
    const { store, logger, host, now } = this.#deps;
    this.#configRefused();
    if (
      report.kind === "sync_failed" && report.error instanceof VerificationError
    ) {
      // Once per refused commit, across restarts; a new refused commit notifies again.
      const key = `${VERIFICATION_FAILED_KEY}:${report.error.commit}`;
      if (store.notificationState(key) !== undefined) {
        logger.debug("verification_failed not sent again for {commit}", {
          commit: report.error.commit,
        });
        return;
      }
      store.setNotificationState(key, String(report.startedAt), now());
      this.send(verificationFailedEvent(report.error, { host, now }));
      return;
    }
    if (report.kind === "sync_failed") {
      const since = store.notificationState(SYNC_FAILING_KEY);
      if (since !== undefined) {
        logger.debug("sync_failed not sent again: failing since {since}", {
          since: new Date(Number(since)).toISOString(),
        });
        return;
      }
      store.setNotificationState(
        SYNC_FAILING_KEY,
        String(report.startedAt),
        now(),
      );
      this.send(syncFailedEvent(report.error.message, { host, now }));
      return;
    }
    const failingSince = store.notificationState(SYNC_FAILING_KEY);
    if (failingSince !== undefined) {
      store.clearNotificationState(SYNC_FAILING_KEY);
      this.send(syncRecoveredEvent(Number(failingSince), { host, now }));
    }
    this.runsFinished(report.result);
  }

  /** Queues `state_lost` (the store is not touched: its file is gone). */
  stateLost(error: StateLostError): void {
    if (this.#targets.length === 0) return;
    const { host, now } = this.#deps;
    this.send(stateLostEvent(error.message, { host, now }));
  }

  /** Queues `config_invalid` once per refused commit, across restarts. */
  #configRefused(): void {
    const { store, host, now } = this.#deps;
    const refusal = configRefusal(store);
    if (!refusal) return;
    const key = `${CONFIG_INVALID_KEY}:${refusal.commit}`;
    if (store.notificationState(key) !== undefined) return;
    store.setNotificationState(key, String(refusal.since), now());
    this.send(configInvalidEvent(refusal, { host, now }));
  }

  /** Queues `state_unwritable` (once per outage: the daemon calls this as the outage begins). */
  stateUnwritable(problem: string): void {
    if (this.#targets.length === 0) return;
    const { host, now } = this.#deps;
    this.send(stateUnwritableEvent(problem, { host, now }));
  }

  /** Queues the events of finished runs (a cycle's, or a manual `deploy`'s, which syncs nothing). */
  runsFinished(result: CycleResult): void {
    if (this.#targets.length === 0) return;
    const { store, logger, host, now } = this.#deps;
    const { events, suppressed } = cycleEvents(result, {
      store,
      host,
      now,
    });
    for (const run of suppressed) {
      logger.debug(
        "deploy_failed not sent again: run {runId} repeats a failure at the same revision",
        { service: run.service, runId: run.runId },
      );
    }
    for (const event of events) this.send(event);
  }

  /** Queues `event` for every target subscribed to it (or to its fallback). */
  send(event: NotificationEvent): void {
    for (const target of this.#targets) {
      const delivered = deliveredAs(target, event);
      if (delivered) this.#deps.queue.enqueue(target, delivered);
    }
  }
}

/** The event as `target` receives it, or undefined when it does not subscribe. */
export function deliveredAs(
  target: Pick<ResolvedTarget, "events">,
  event: NotificationEvent,
): NotificationEvent | undefined {
  if (event.event === "test") return event;
  if (subscribes(target, event.event)) return event;
  const fallback: NotifyEventName | undefined = event.fallback;
  if (fallback && subscribes(target, fallback)) {
    return { ...event, event: fallback };
  }
  return undefined;
}

/** Options of {@link createNotifier}. */
export interface CreateNotifierOptions {
  targets: readonly NotifyTarget[];
  store: StateStore;
  logger: Logger;
  host: string;
  now?: () => number;
  /** Looks up `${NAME}` in target URLs; the process environment by default. */
  env?: (name: string) => string | undefined;
  /** The configuration file as named in errors. */
  file?: string;
  /** Delivery tuning (tests). */
  queue?: Omit<NotificationQueueOptions, "logger">;
  /** The `notify:` list in effect after a configuration reload. */
  configuredTargets?: () => readonly NotifyTarget[];
  /** Completes events with commit subjects, authors and run URLs. */
  context?: EventContextSource;
}

/**
 * Resolves the configured targets (a missing `${VAR}` is a ConfigError, exit 2)
 * and builds a notifier delivering through its own queue.
 */
export function createNotifier(
  options: CreateNotifierOptions,
): { notifier: Notifier; queue: NotificationQueue } {
  const resolve: ResolveTargetsOptions = {
    env: options.env ?? ((name) => Deno.env.get(name)),
    file: options.file,
  };
  const targets = resolveTargets(options.targets, resolve);
  const queue = new NotificationQueue({
    logger: options.logger,
    context: options.context,
    ...options.queue,
  });
  const notifier = new Notifier({
    targets,
    queue,
    store: options.store,
    logger: options.logger,
    host: options.host,
    now: options.now ?? Date.now,
    resolve,
    configuredTargets: options.configuredTargets,
  });
  notifier.updateTargets(options.targets);
  return { notifier, queue };
}
