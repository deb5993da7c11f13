/** How holds and run reasons read in CLI output, JSON documents, the status page and notifications. */

import { shortCommit } from "../git/commit_id.ts";

/** Commits as every text shows them (for the layers that may not import git). */
export { shortCommit };
import type { RunReason } from "../state/types.ts";
import type { Hold } from "./cycle_types.ts";

/** A hold as JSON documents show it: times as ISO 8601 strings like every other time. */
export type HoldJson =
  | Exclude<Hold, { kind: "backoff" } | { kind: "suspended" }>
  | { kind: "backoff"; attempts: number; nextAttemptAt: string }
  | {
    kind: "suspended";
    scope: string;
    reason: string | null;
    suspendedAt: string;
  };

/** The JSON form of a hold. */
export function holdJson(hold: Hold): HoldJson {
  if (hold.kind === "suspended") {
    return { ...hold, suspendedAt: new Date(hold.suspendedAt).toISOString() };
  }
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
        shortCommit(hold.revision)
      }; waiting for a new commit or a manual deploy`;
    case "dependency":
      return `waiting for dependency ${hold.dependency}`;
    case "suspended":
      return `suspended${hold.scope === "*" ? " (whole agent)" : ""} since ${
        new Date(hold.suspendedAt).toISOString()
      }${hold.reason ? `: ${hold.reason}` : ""}`;
    case "rolled_back":
      return `rolled back from ${shortCommit(hold.failedCommit)} to ${
        shortCommit(hold.deployedCommit)
      }; revision ${
        shortCommit(hold.revision)
      } is held until a new revision or a manual deploy`;
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
        shortCommit(reason.deployedCommit)
      } no longer exists`;
    case "interrupted":
      return "previous run was interrupted";
    case "manual":
      return "manual deploy";
    case "removed":
      return "service removed from the repository";
    case "rollback":
      if (reason.requested) {
        return `rollback requested by an operator (HEAD ${
          shortCommit(reason.failedCommit)
        })`;
      }
      return `rolling back from ${
        shortCommit(reason.failedCommit)
      } after run ${reason.failedRunId} failed`;
    case "heal":
      return `self-heal: ${reason.error}`;
  }
}
