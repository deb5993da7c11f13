/** Signalling whole process groups (Unix) and process trees (Windows), and telling a reused pid apart. */
import { join } from "node:path";

/** How often to check whether a signalled process group is gone. */
const GROUP_POLL_MS = 25;
/** Linux's process table, read for a process's start time. */
const PROC_DIR = "/proc";

/** Command that force-kills a Windows process and all its descendants. */
export function killTreeCommand(
  pid: number,
): { command: string; args: string[] } {
  return { command: "taskkill", args: ["/T", "/F", "/PID", String(pid)] };
}

/** Sends `signal` to process group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: Deno.Signal | 0): boolean {
  try {
    Deno.kill(-pgid, signal as Deno.Signal);
    return true;
  } catch (error) {
    if (isNoSuchProcess(error)) return false;
    throw error;
  }
}

/** True while process group `pgid` has a member (a zombie not yet reaped counts). */
export function processGroupExists(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** SIGTERM to the group, then SIGKILL once the grace period is over if any member is left. */
export async function killProcessGroup(
  pgid: number,
  graceMs: number,
): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = performance.now() + graceMs;
  // Polled rather than one long timer so the caller goes on as soon as the
  // group is gone instead of always waiting out the grace period.
  while (performance.now() < deadline) {
    if (!signalGroup(pgid, 0)) return;
    await delay(Math.min(GROUP_POLL_MS, deadline - performance.now()));
  }
  signalGroup(pgid, "SIGKILL");
}

/**
 * When process `pid` started, as an opaque token (Linux: field 22 of
 * `/proc/PID/stat`, clock ticks since boot); undefined where it cannot be read.
 * A pid is reused after its process ended: the same pid with another start
 * time is another process.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(join(PROC_DIR, String(pid), "stat"));
    // The command name in parentheses may hold spaces; fields follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After ")": field 3 (state) is index 0, so field 22 is index 19.
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * True when process group `pgid` still exists and is the one whose leader
 * started at `startTime`. The kernel never hands out a pid that is still a live
 * group's id, so a group without its leader is still the original one; a
 * leader with another start time means the pid was reused.
 */
export function isSameProcessGroup(
  pgid: number,
  startTime: string | null,
): boolean {
  if (!processGroupExists(pgid)) return false;
  const leaderStart = processStartTime(pgid);
  if (leaderStart === undefined || startTime === null) return true;
  return leaderStart === startTime;
}

function isNoSuchProcess(error: unknown): boolean {
  // Deno reports ESRCH as NotFound.
  return error instanceof Deno.errors.NotFound;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Force-kills a Windows process and its descendants; a tree that is gone already is no error. */
export async function killWindowsTree(pid: number): Promise<void> {
  const { command, args } = killTreeCommand(pid);
  try {
    await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // The tree may be gone already; the process status still tells the caller.
  }
}

/** A live process carrying a state file's marker. */
export interface MarkedProcess {
  pid: number;
  /** Its process group. */
  pgid: number;
  /** The marker's run part (after `<state id>:`). */
  run: string;
}

/**
 * The processes (Linux: read from each process's `environ`) whose
 * environment has `variable` set to `<stateId>:…` (the run marker). Processes of other users, whose environment cannot be read,
 * and zombies, which have none, are not listed.
 */
export function findMarkedProcesses(
  variable: string,
  stateId: string,
  procDir = PROC_DIR,
): MarkedProcess[] {
  const prefix = `${variable}=${stateId}:`;
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

/** The process group of `pid` (field 5 of its `stat`), if it can be read. */
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

/** This process and the processes it descends from (field 4 of each `stat`). */
export function ancestorPids(procDir = PROC_DIR): Set<number> {
  const pids = new Set<number>();
  let pid = Deno.pid;
  while (pid > 1 && !pids.has(pid)) {
    pids.add(pid);
    try {
      const stat = Deno.readTextFileSync(join(procDir, String(pid), "stat"));
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return pids;
}
