/** How holds and run reasons read in CLI output, JSON documents, the status page and notifications. */

import type { RunReason } from "../state/types.ts";
import type { Hold } from "./cycle_types.ts";

/** A hold as JSON documents show it: times as ISO 8601 strings like every other time. */
export type HoldJson =
  | Exclude<Hold, { kind: "backoff" }>
  | { kind: "backoff"; attempts: number; nextAttemptAt: string };

/** The JSON form of a hold. */
export function holdJson(hold: Hold): HoldJson {
  return hold.kind === "backoff"
    ? { ...hold, nextAttemptAt: new Date(hold.nextAttemptAt).toISOString() }
    : hold;
}

/** A short human explanation of why an out-of-date service waits. */
export function describeHold(hold: Hold | HoldJson): string {
  switch (hold.kind) {
    case "backoff":
      return `failed ${hold.attempts}×, next attempt at ${
        new Date(hold.nextAttemptAt).toISOString()
      }`;
    case "exhausted":
      return `failed ${hold.attempts}× at ${
        hold.revision.slice(0, 12)
      }; waiting for a new commit or a manual deploy`;
    case "dependency":
      return `waiting for dependency ${hold.dependency}`;
  }
}

/** A short human explanation of why a run happened. */
export function describeReason(reason: RunReason): string {
  switch (reason.kind) {
    case "first_deploy":
      return "never deployed";
    case "changed": {
      const shown = reason.paths.slice(0, 3).join(", ");
      const more = reason.totalPaths - Math.min(3, reason.paths.length);
      return `changed: ${shown}${more > 0 ? ` and ${more} more` : ""}`;
    }
    case "history_rewritten":
      return `deployed commit ${
        reason.deployedCommit.slice(0, 12)
      } no longer exists`;
    case "interrupted":
      return "previous run was interrupted";
    case "manual":
      return "manual deploy";
    case "removed":
      return "service removed from the repository";
  }
}
