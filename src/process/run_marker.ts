/**
 * Marking every hook process with the state file and run it belongs to, so
 * that a restart finds them again after the agent that started them was
 * killed (process_group.ts reads the marks). See
 * docs/design.md#state-and-crash-recovery.
 * @module
 */
import type {
  ProcessResult,
  ProcessRunner,
  ProcessSpec,
  RunProcessOptions,
} from "./types.ts";

/** The variable every hook process carries: `<state file id>:<run id>` (or `:check` outside a run). */
export const RUN_MARKER_VARIABLE = "UPSTREAM_WATCH_RUN";
/** The marker's run part for commands that belong to no recorded run (self-heal checks). */
export const UNRECORDED_RUN = "check";
/** The variable a run's commands carry their run id in. */
const RUN_ID_VARIABLE = "UPSTREAM_WATCH_RUN_ID";

/**
 * A runner that marks every process it starts. The marker is in the
 * environment the process is started with, so it is there from the process's
 * first instruction — before its process group can be recorded — and its
 * children inherit it, even those that leave the group (`setsid`).
 */
export class MarkingRunner implements ProcessRunner {
  readonly #inner: ProcessRunner;
  readonly #stateId: string;

  constructor(inner: ProcessRunner, stateId: string) {
    this.#inner = inner;
    this.#stateId = stateId;
  }

  /** Runs `spec` like the inner runner, with the marker added to its environment. */
  run(spec: ProcessSpec, options: RunProcessOptions): Promise<ProcessResult> {
    const run = options.env?.[RUN_ID_VARIABLE] ?? UNRECORDED_RUN;
    return this.#inner.run(spec, {
      ...options,
      env: { ...options.env, [RUN_MARKER_VARIABLE]: `${this.#stateId}:${run}` },
    });
  }
}
