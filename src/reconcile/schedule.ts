/** The scheduler of a cycle or `deploy`: due services in dependency order, up to `parallel` at once. */

import type { Logger } from "../log/logging.ts";
import type { StateStore } from "../state/store.ts";
import type { RunReason } from "../state/types.ts";
import type { CycleOptions } from "./cycle_types.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { dependencyOrder } from "./order.ts";
import type { ServiceEntry } from "./services.ts";

/** One service to run, why, and the commit it was deployed at before. */
export interface ScheduledRun {
  entry: ServiceEntry;
  reason: RunReason;
  deployedCommit: string | null;
}

/** What {@link runScheduled} needs besides the runs: the cycle's trigger and signals, limits, and where to record. */
export interface ScheduleOptions extends CycleOptions {
  /** The commit every run deploys. */
  head: string;
  /** How many services may run at once (at least one). */
  parallel: number;
  /** Runs kept per service, for the `skipped` records. */
  historyLimit: number;
  store: StateStore;
  logger: Logger;
  now: () => number;
  /** Runs one service's steps and records the run (`runService` of run_service.ts). */
  runService: (run: ScheduledRun) => Promise<RunSummary | undefined>;
}

/** Runs services in dependency order, up to `parallel` at once; a failed dependency skips its dependents. */
export async function runScheduled(
  scheduled: readonly ScheduledRun[],
  options: ScheduleOptions,
): Promise<RunSummary[]> {
  const byName = new Map(scheduled.map((run) => [run.entry.name, run]));
  const dependencies = (name: string) =>
    (byName.get(name)?.entry.config?.dependsOn ?? []).filter((dependency) =>
      byName.has(dependency)
    );
  const order = dependencyOrder([...byName.keys()], dependencies);
  const slots = new Semaphore(Math.max(1, options.parallel));
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
          return recordSkipped(run, options, failed.service);
        }
        await slots.acquire();
        try {
          if (options.stop?.aborted || options.signal?.aborted) {
            return undefined;
          }
          return await options.runService(run);
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

function recordSkipped(
  run: ScheduledRun,
  options: ScheduleOptions,
  dependency: string,
): RunSummary {
  const { store, now } = options;
  const error = `dependency ${dependency} did not succeed`;
  const runId = store.startRun({
    service: run.entry.name,
    trigger: options.trigger,
    fromCommit: run.deployedCommit,
    toCommit: options.head,
    startedAt: now(),
    reason: run.reason,
  });
  store.finishRun(runId, {
    outcome: "skipped",
    finishedAt: now(),
    error,
    historyLimit: options.historyLimit,
  });
  options.logger.warn("skipped: {error}", {
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
