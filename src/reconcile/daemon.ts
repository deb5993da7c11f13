import type { CycleObserver, CycleReport } from "../results/cycle_result.ts";
import {
  errorMessage,
  GitError,
  StateLostError,
  StateWriteError,
  SyncError,
} from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import type { Trigger } from "../state/types.ts";
import { collectGarbage, type MemoryPressure } from "../process/memory.ts";
import type { Agent } from "./agent.ts";
import { type StateWrites, waitOutStateOutage } from "./state_outage.ts";
import type { OneAtATime } from "./one_at_a_time.ts";
import { sleep } from "../hooks/health_step.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Seconds between cycles; the repository's `retry_interval` when undefined. */
  intervalSeconds?: number;
  /** Aborted: start no further service (the running one gets the grace period), then return. */
  stop: AbortSignal;
  /** Aborted: kill the running command too (the grace period is over). */
  kill: AbortSignal;
  logger: Logger;
  /** Cycles asked for from outside (webhooks) wake the loop at once. */
  requests?: CycleRequests;
  /** Told when memory was freed (a flood of output, a burst of webhook bodies): the loop collects it then too. */
  memory?: MemoryPressure;
  observers?: readonly CycleObserver[];
  now?: () => number;
  /** The state store: while it cannot be written, no cycle runs (docs/design.md#when-the-state-file-cannot-be-written). */
  state?: StateWrites;
  /** Cycles take turns with the operator's requests (docs/design.md#operator-requests). */
  turns?: OneAtATime;
}

/** The poll loop: one cycle per interval (or at once when requested) until `stop` is aborted; sync failures are logged and retried. */
export async function runDaemon(
  agent: Agent,
  options: DaemonOptions,
): Promise<void> {
  const requests = options.requests ?? new CycleRequests();
  // The one owner of garbage collection: between cycles, and whenever memory was freed.
  const unsubscribe = options.memory?.onFreed(collectGarbage);
  try {
    await pollLoop(agent, options, requests);
  } finally {
    unsubscribe?.();
  }
}

async function pollLoop(
  agent: Agent,
  options: DaemonOptions,
  requests: CycleRequests,
): Promise<void> {
  let trigger: Trigger | undefined = "poll";
  while (trigger !== undefined && !options.stop.aborted) {
    if (options.state?.writeProblem() !== undefined) {
      await waitOutStateOutage({
        state: options.state,
        idle: () => !agent.activity.busy,
        logger: options.logger,
        observers: options.observers ?? [],
        stop: options.stop,
        now: options.now ?? Date.now,
      });
      continue;
    }
    let report: CycleReport;
    try {
      report = await runObservedCycle(agent, {
        trigger,
        stop: options.stop,
        kill: options.kill,
        observers: options.observers,
        logger: options.logger,
        now: options.now,
        busy: requests,
        turns: options.turns,
      });
    } catch (error) {
      // The store remembers the failure: the next turn waits it out.
      if (!(error instanceof StateWriteError) || !options.state) throw error;
      continue;
    }
    if (report.kind === "sync_failed") {
      options.logger.error("sync failed: {error}; retrying next interval", {
        error: report.error.message,
      });
    }
    collectGarbage();
    const seconds = options.intervalSeconds ?? agent.config.retryInterval;
    trigger = await requests.next(seconds * 1000, options.stop);
  }
}

/** Options of {@link runObservedCycle}. */
export interface ObservedCycleOptions {
  trigger: Trigger;
  /** Aborted: start no further service (a graceful stop). */
  stop?: AbortSignal;
  /** Aborted: kill the running command. */
  kill: AbortSignal;
  observers?: readonly CycleObserver[];
  logger: Logger;
  now?: () => number;
  /** Told when the cycle runs, so requests arriving meanwhile are queued. */
  busy?: Pick<CycleRequests, "cycleRunning">;
  /** Waits for the operator's request in progress before the cycle starts. */
  turns?: OneAtATime;
}

/**
 * Runs one cycle and tells the observers; a sync failure is returned as a
 * report instead of thrown (the daemon keeps going; `run --once` exits 3).
 */
export async function runObservedCycle(
  agent: Agent,
  options: ObservedCycleOptions,
): Promise<CycleReport> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const observers = options.observers ?? [];
  notify(
    options.logger,
    observers,
    (observer) => observer.cycleStarted?.(options.trigger, startedAt),
  );
  options.busy?.cycleRunning(true);
  let report: CycleReport;
  try {
    const cycle = () =>
      agent.runCycle({
        trigger: options.trigger,
        stop: options.stop,
        signal: options.kill,
      });
    const result = await (options.turns ? options.turns.run(cycle) : cycle());
    report = {
      kind: "completed",
      trigger: options.trigger,
      startedAt,
      finishedAt: now(),
      result,
    };
  } catch (error) {
    if (error instanceof StateLostError) {
      notify(
        options.logger,
        observers,
        (observer) => observer.stateLost?.(error),
      );
    }
    if (!(error instanceof SyncError || error instanceof GitError)) {
      throw error;
    }
    // The error names git's last lines; the whole of what it printed is here.
    const git = error instanceof GitError
      ? error
      : error.cause instanceof GitError
      ? error.cause
      : undefined;
    if (git?.stderr) {
      options.logger.debug("git {command} printed: {stderr}", {
        command: git.args.join(" "),
        stderr: git.stderr,
      });
    }
    report = {
      kind: "sync_failed",
      trigger: options.trigger,
      startedAt,
      finishedAt: now(),
      error,
    };
  } finally {
    options.busy?.cycleRunning(false);
  }
  notify(
    options.logger,
    observers,
    (observer) => observer.cycleFinished?.(report),
  );
  return report;
}

function notify(
  logger: Logger,
  observers: readonly CycleObserver[],
  call: (observer: CycleObserver) => void,
): void {
  for (const observer of observers) {
    try {
      call(observer);
    } catch (error) {
      // Reporting must never stop deployments.
      logger.error("cycle observer failed: {error}", {
        error: errorMessage(error),
      });
    }
  }
}

/** What became of a cycle request. */
export type CycleRequestResult =
  /** The loop was waiting: the cycle starts now. */
  | "started"
  /** A cycle is running: one more runs right after it. */
  | "queued"
  /** A cycle was already requested: this request joins it. */
  | "coalesced";

/** Deliveries closer together than this form one burst (docs/webhooks.md). */
export const BURST_GAP_MS = 250;
/** A burst's second cycle waits at most this long for the burst to end. */
export const BURST_MAX_WAIT_MS = 10_000;

/**
 * Requests for an immediate cycle (webhooks). A request while the loop waits
 * starts a cycle at once; any number while a cycle runs coalesce into one
 * pending cycle, and that cycle (like one asked for moments after another
 * request) waits until the requests pause for {@link BURST_GAP_MS} once a
 * second request came within that gap, so a burst of pushes causes at most
 * two cycles however short the cycles are, and a lone push never waits.
 */
export class CycleRequests {
  #pending = false;
  #running = false;
  /** The pending cycle belongs to a burst: it waits for the burst to end. */
  #settle = false;
  #pendingSince = 0;
  #lastRequestAt = -Infinity;
  #wake?: () => void;
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Asks for a cycle as soon as possible. */
  request(): CycleRequestResult {
    const now = this.#now();
    const inBurst = now - this.#lastRequestAt < BURST_GAP_MS;
    this.#lastRequestAt = now;
    if (this.#pending) {
      // A push that follows the pending one closely makes it a burst's cycle.
      if (inBurst) this.#settle = true;
      return "coalesced";
    }
    this.#pending = true;
    this.#pendingSince = now;
    // A lone push while a cycle runs is not held back: it runs right after.
    this.#settle = inBurst;
    if (this.#wake) {
      this.#wake();
      return "started";
    }
    return this.#running ? "queued" : "started";
  }

  /** The loop reports whether a cycle is running. */
  cycleRunning(running: boolean): void {
    this.#running = running;
  }

  /**
   * Waits `ms` or until a cycle is requested; returns the next cycle's
   * trigger, or undefined when `stop` was aborted.
   */
  async next(ms: number, stop: AbortSignal): Promise<Trigger | undefined> {
    if (!this.#pending) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stop.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        stop.addEventListener("abort", done, { once: true });
        this.#wake = done;
        if (stop.aborted) done();
      });
    }
    if (this.#pending && this.#settle) await this.#burstEnd(stop);
    if (stop.aborted) return undefined;
    if (this.#pending) {
      this.#pending = false;
      return "webhook";
    }
    return "poll";
  }

  /** Waits until requests pause for {@link BURST_GAP_MS}, at most {@link BURST_MAX_WAIT_MS} after the pending one. */
  async #burstEnd(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const now = this.#now();
      const wait = Math.min(
        this.#lastRequestAt + BURST_GAP_MS,
        this.#pendingSince + BURST_MAX_WAIT_MS,
      ) - now;
      if (wait <= 0) return;
      await sleep(wait, stop);
    }
  }
}
