/**
 * Marking every hook process with the state file and run it belongs to, and
 * finding marked processes again after the agent that started them was
 * killed. See docs/design.md#state-and-crash-recovery.
 * @module
 */
import { join } from "node:path";
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
/** Linux's process table. */
const PROC_DIR = "/proc";

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

/** A live process carrying a state file's marker. */
export interface MarkedProcess {
  pid: number;
  /** Its process group. */
  pgid: number;
  /** The marker's run part: a run id, or {@link UNRECORDED_RUN}. */
  run: string;
}

/**
 * The processes (Linux: read from `/proc/PID/environ`) that carry the marker
 * of `stateId`. Processes of other users, whose environment cannot be read,
 * and zombies, which have none, are not listed.
 */
export function findMarkedProcesses(
  stateId: string,
  procDir = PROC_DIR,
): MarkedProcess[] {
  const prefix = `${RUN_MARKER_VARIABLE}=${stateId}:`;
  const found: MarkedProcess[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(procDir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    let environ: string;
    try {
      environ = new TextDecoder().decode(
        Deno.readFileSync(join(procDir, entry.name, "environ")),
      );
    } catch {
      continue;
    }
    const marker = environ.split("\0").find((pair) => pair.startsWith(prefix));
    if (marker === undefined) continue;
    const pgid = processGroupOf(pid, procDir);
    if (pgid === undefined) continue;
    found.push({ pid, pgid, run: marker.slice(prefix.length) });
  }
  return found;
}

/** The process group of `pid` (field 5 of `/proc/PID/stat`), if it can be read. */
export function processGroupOf(
  pid: number | "self",
  procDir = PROC_DIR,
): number | undefined {
  try {
    const stat = Deno.readTextFileSync(join(procDir, String(pid), "stat"));
    // After the command name in parentheses: state, ppid, pgrp.
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    return Number.isSafeInteger(pgid) ? pgid : undefined;
  } catch {
    return undefined;
  }
}
