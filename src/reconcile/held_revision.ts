/**
 * What a service runs when it is not HEAD's revision: after a rollback (the
 * agent's or an operator's) it runs the commit rolled back to, and its checks
 * and heals use that commit's hook file and files (docs/deploy-safety.md#self-heal).
 * @module
 */
import { parseServiceConfig } from "../config/load.ts";
import type { ServiceConfig } from "../config/types.ts";
import { UsageError } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import type { GitClient } from "../git/git_client.ts";
import { rollbackHolds, type RollbackRecord } from "../state/rollbacks.ts";
import type { StateStore } from "../state/store.ts";
import type { ServiceRecord } from "../state/types.ts";
import type { ServiceEntry } from "./services.ts";

/** Which revision a service's health is checked and healed at. */
export type RunningRevision =
  /** HEAD's: the service is deployed at it. */
  | { kind: "head"; commit: string; config: ServiceConfig }
  /** The commit a rollback went back to, while HEAD's revision is held. */
  | {
    kind: "held";
    commit: string;
    config: ServiceConfig;
    rollback: RollbackRecord;
  };

/**
 * The revision `entry` runs: the rolled-back-to commit while a rollback holds
 * HEAD's revision (its hook file read from that commit), else HEAD's.
 * Undefined when it has nothing to check (never deployed, or an invalid hook file).
 */
export async function runningRevision(
  entry: ServiceEntry,
  options: {
    head: string;
    /** The service's revision at HEAD (newest commit touching it). */
    revision: string;
    record: ServiceRecord | undefined;
    rollback: RollbackRecord | undefined;
    git: Pick<GitClient, "showFile">;
  },
): Promise<RunningRevision | undefined> {
  const deployed = options.record?.deployedCommit;
  if (!deployed) return undefined;
  const { rollback } = options;
  if (
    rollback && rollback.state !== "running" &&
    rollbackHolds(rollback, {
      revision: options.revision,
      deployedCommit: deployed,
    })
  ) {
    try {
      const text = await options.git.showFile(deployed, entry.configFile);
      const { config } = parseServiceConfig(
        text,
        `${entry.configFile}@${shortCommit(deployed)}`,
      );
      return { kind: "held", commit: deployed, config, rollback };
    } catch {
      return undefined;
    }
  }
  return entry.config
    ? { kind: "head", commit: options.head, config: entry.config }
    : undefined;
}

/**
 * The commit `rollback SERVICE [--to COMMIT]` goes back to: COMMIT (a full id)
 * when the service was deployed at it, else the newest commit it was deployed
 * at before its current one. Refusals are usage errors naming the choices.
 */
export function rollbackDestination(
  store: Pick<StateStore, "runs">,
  options: { service: string; deployedCommit: string | null; to?: string },
): string {
  const { service, deployedCommit } = options;
  if (!deployedCommit) {
    throw new UsageError(`${service} was never deployed; nothing to roll back`);
  }
  // Every commit a run of the service ended deployed at, newest first.
  const deployedAt = [
    ...new Set(
      store.runs({ service, limit: Number.MAX_SAFE_INTEGER })
        .filter((run) => run.outcome === "succeeded")
        .map((run) => run.toCommit),
    ),
  ];
  const earlier = deployedAt.filter((commit) => commit !== deployedCommit);
  if (options.to === undefined) {
    if (earlier.length === 0) {
      throw new UsageError(
        `${service} has no earlier deployed commit in its history; name one with --to`,
      );
    }
    return earlier[0];
  }
  if (options.to === deployedCommit) {
    throw new UsageError(
      `${service} is deployed at ${shortCommit(options.to)} already`,
    );
  }
  if (!deployedAt.includes(options.to)) {
    throw new UsageError(
      `${service} was never deployed at ${
        shortCommit(options.to)
      } (commits in its history: ${
        earlier.map(shortCommit).join(", ") || "none"
      })`,
    );
  }
  return options.to;
}
