/**
 * The git dir remembers that a clone had a state file (`upstream-watch/state-id`,
 * holding the id stored inside that file), so a state file that went missing or
 * empty stops the agent instead of silently meaning "never deployed".
 */
import { dirname, join } from "node:path";
import { errorMessage, StateError, StateLostError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import { StateStore } from "./store.ts";

/** Where the marker lives inside a work tree's git dir. */
export function stateMarkerPath(gitDir: string): string {
  return join(gitDir, "upstream-watch", "state-id");
}

/** What to do when the marker says a state file existed but it is missing or empty. */
export type LostStatePolicy =
  /** Stop with a {@link StateLostError} (exit 2) naming the operator's choices. */
  | "refuse"
  /** Create a new, empty state (`--fresh-state`, and `adopt`, which records every service itself). */
  | "start_fresh";

/** Options of {@link openGuardedState}. */
export interface GuardedStateOptions {
  file: string;
  gitDir: string;
  readOnly: boolean;
  lostState: LostStatePolicy;
  logger: Logger;
  /** How the flag that starts fresh is named in messages. */
  freshFlag?: string;
}

/** Opens the state file, refusing a lost one, and (writers) keeps the git dir's marker in step with it. */
export function openGuardedState(options: GuardedStateOptions): StateStore {
  const { file, logger } = options;
  const markerFile = stateMarkerPath(options.gitDir);
  const previousId = readMarker(markerFile);
  const size = fileSize(file);
  if (previousId !== undefined && (size === undefined || size === 0)) {
    const what = size === undefined ? "is missing" : "is empty (0 bytes)";
    if (options.readOnly || options.lostState === "refuse") {
      throw new StateLostError(
        `state file ${file} ${what}, but this clone had one (id ${previousId}); without it every service counts as never deployed and would run again. Restore it from a backup, run "upstream-watch adopt" to record the services as deployed at HEAD, or start again with ${
          options.freshFlag ?? "--fresh-state"
        } to run every service`,
        { file },
      );
    }
    moveAsideOrphans(file, logger);
    logger.warn(
      "state file {file} {what}; starting a new, empty one",
      { file, what },
    );
  }
  const store = StateStore.open(file, { readOnly: options.readOnly });
  if (options.readOnly) return store;
  try {
    const id = store.ensureStateId();
    if (previousId !== undefined && previousId !== id && size) {
      logger.warn(
        "state file {file} is not the one this clone used before (id {id}, was {previousId}); using it",
        { file, id, previousId },
      );
    }
    if (id !== previousId) writeMarker(markerFile, id);
  } catch (error) {
    store.close();
    throw error;
  }
  return store;
}

function readMarker(markerFile: string): string | undefined {
  try {
    const id = Deno.readTextFileSync(markerFile).trim();
    return id === "" ? undefined : id;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new StateError(
      `cannot read ${markerFile}: ${errorMessage(error)}`,
      { file: markerFile, cause: error },
    );
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a marker. */
function writeMarker(markerFile: string, id: string): void {
  try {
    Deno.mkdirSync(dirname(markerFile), { recursive: true });
    const temporary = `${markerFile}.tmp`;
    Deno.writeTextFileSync(temporary, `${id}\n`);
    Deno.renameSync(temporary, markerFile);
  } catch (error) {
    throw new StateError(
      `cannot write ${markerFile}: ${errorMessage(error)}`,
      { file: markerFile, cause: error },
    );
  }
}

/** Size in bytes, or undefined when the file does not exist. */
function fileSize(file: string): number | undefined {
  try {
    return Deno.statSync(file).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new StateError(
      `cannot read state file ${file}: ${errorMessage(error)}`,
      { file, cause: error },
    );
  }
}

/**
 * A write-ahead log left by the lost file would be replayed into the new one;
 * it is kept aside (it may hold the lost state) rather than deleted.
 */
function moveAsideOrphans(file: string, logger: Logger): void {
  const suffix = `.orphaned-${Date.now()}`;
  for (const orphan of [`${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      Deno.renameSync(orphan, `${orphan}${suffix}`);
      logger.warn("moved {file} left by the lost state file aside to {to}", {
        file: orphan,
        to: `${orphan}${suffix}`,
      });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
