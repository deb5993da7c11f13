/**
 * The daemon while its state file cannot be written: nothing is deployed,
 * the HTTP endpoint keeps answering, and a small write is tried again with a
 * growing delay until one succeeds. See
 * docs/design.md#when-the-state-file-cannot-be-written.
 * @module
 */
import { sleep } from "../hooks/health_step.ts";
import type { Logger } from "../log/logging.ts";
import type { CycleObserver } from "../results/cycle_result.ts";
import type { StateStore } from "../state/store.ts";

/** First delay between probe writes; it doubles up to {@link MAX_PROBE_DELAY_MS}. */
const FIRST_PROBE_DELAY_MS = 1000;
/** Longest delay between probe writes. */
const MAX_PROBE_DELAY_MS = 30_000;

/** What the outage needs of the state store. */
export type StateWrites = Pick<
  StateStore,
  "writeProblem" | "probeWrite" | "markInterruptedRuns"
>;

/** Told when the state file stops and starts being writable; it must not throw and must not block. */
export type StateOutageObserver = Pick<
  CycleObserver,
  "stateUnwritable" | "stateWritable"
>;

/** Options of {@link waitOutStateOutage}. */
export interface StateOutageOptions {
  state: StateWrites;
  /** True while no run of any service is in progress. */
  idle: () => boolean;
  logger: Logger;
  observers: readonly StateOutageObserver[];
  stop: AbortSignal;
  now: () => number;
}

/**
 * Waits until a probe write succeeds (or `stop` is aborted), telling the
 * observers once at the start and once at the end. Runs whose end could not
 * be recorded are then marked interrupted, so their services run again.
 */
export async function waitOutStateOutage(
  options: StateOutageOptions,
): Promise<void> {
  const { state, logger, stop } = options;
  const problem = state.writeProblem() ?? "the state file cannot be written";
  logger.error(
    "{error}; deploying stops until the state file can be written again (upstream-watch keeps trying)",
    { error: problem },
  );
  tell(options, (observer) => observer.stateUnwritable?.(problem));
  let delay = FIRST_PROBE_DELAY_MS;
  while (true) {
    if (!await sleep(delay, stop)) return;
    // Runs cut off by the failure finish first: none may be marked interrupted while it runs.
    if (!options.idle()) continue;
    if (state.probeWrite(options.now())) break;
    delay = Math.min(delay * 2, MAX_PROBE_DELAY_MS);
  }
  logger.info("the state file can be written again; deploying resumes");
  for (const run of state.markInterruptedRuns(options.now())) {
    logger.warn(
      "run {runId} of {service} could not be recorded to its end; marked interrupted, the service will run again",
      { runId: run.id, service: run.service },
    );
  }
  tell(options, (observer) => observer.stateWritable?.());
}

function tell(
  options: StateOutageOptions,
  call: (observer: StateOutageObserver) => void,
): void {
  for (const observer of options.observers) {
    try {
      call(observer);
    } catch (error) {
      options.logger.error("state outage observer failed: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
