import { join } from "node:path";
import { ExitCode, UpstreamWatchError } from "../errors.ts";

/** Another instance holds the lock on this repository. Exit 4. */
export class LockedError extends UpstreamWatchError {
  readonly holderPid?: number;
  constructor(message: string, holderPid?: number) {
    super(message, { exitCode: ExitCode.locked });
    this.holderPid = holderPid;
  }
}

/** The lock held by the running instance; released on dispose or when the process dies. */
export interface InstanceLock extends Disposable {
  /** Pid recorded by a previous holder that died without releasing (taken over). */
  readonly takenOverFrom?: number;
}

/**
 * Takes the one-instance lock of a repository
 * (docs/design.md#one-instance-per-repository). An OS file lock
 * (flock / LockFileEx) does the exclusion, so a killed holder never blocks the
 * next start; the pid lives in a separate file that others can read on every platform.
 */
export function acquireInstanceLock(gitDir: string): InstanceLock {
  const lockPath = join(gitDir, "upstream-watch.lock");
  const pidPath = join(gitDir, "upstream-watch.pid");
  const file = Deno.openSync(lockPath, {
    read: true,
    write: true,
    create: true,
  });
  let locked = false;
  try {
    locked = file.tryLockSync(true);
  } finally {
    if (!locked) file.close();
  }
  if (!locked) {
    const pid = readPid(pidPath);
    throw new LockedError(
      `another upstream-watch ${
        pid ? `(pid ${pid}) ` : ""
      }holds the lock on this repository (${lockPath})`,
      pid,
    );
  }
  const previous = readPid(pidPath);
  Deno.writeTextFileSync(pidPath, `${Deno.pid}\n`);
  return {
    takenOverFrom: previous && previous !== Deno.pid ? previous : undefined,
    [Symbol.dispose]() {
      try {
        Deno.removeSync(pidPath);
      } catch {
        // Already gone: nothing to clean up.
      }
      file.unlockSync();
      file.close();
    },
  };
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(Deno.readTextFileSync(path).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether some process holds the lock of this repository now (a daemon that died has released it). */
export function lockIsHeld(gitDir: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(join(gitDir, "upstream-watch.lock"), {
      read: true,
      write: true,
    });
  } catch {
    return false;
  }
  try {
    if (!file.tryLockSync(true)) return true;
    file.unlockSync();
    return false;
  } finally {
    file.close();
  }
}

/** The pid the lock's holder recorded, if any. */
export function lockHolderPid(gitDir: string): number | undefined {
  return readPid(join(gitDir, "upstream-watch.pid"));
}
