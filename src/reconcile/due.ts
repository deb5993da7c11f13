/** Deciding which services are due: a pure function of changed paths, services and state (docs/design.md#change-detection). */

import type { DueReason } from "../state/types.ts";

/** What the planner needs to know about one service. */
export interface ServiceTarget {
  name: string;
  /** Repo-relative folder; `.` in single-directory mode. */
  dir: string;
  /** Extra repo-relative paths whose change makes the service due. */
  watchPaths: readonly string[];
}

/** What the state database remembers about one service, as the planner sees it. */
export interface DeployedService {
  deployedCommit: string | null;
  /** Outcome of the service's newest run, if any. */
  lastOutcome?: string | null;
}

/** Why a service is due (declared beside the run records that store it). */
export type { DueReason };

/** The planner's verdict on one service. */
export interface ServiceVerdict {
  service: string;
  deployedCommit: string | null;
  due: boolean;
  reason?: DueReason;
}

/** Changed paths recorded per run and shown to operators (docs/design.md#change-detection). */
export const MAX_RECORDED_PATHS = 100;

/** True when `path` is `prefix` or lies inside it, matching whole path components. */
export function pathIsWithin(path: string, prefix: string): boolean {
  if (prefix === "." || prefix === "") return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** The paths of `changed` that concern a service: its folder or one of its watch paths. */
export function pathsConcerning(
  target: ServiceTarget,
  changed: readonly string[],
  options: { ignoredPaths?: readonly string[] } = {},
): string[] {
  const prefixes = [target.dir, ...target.watchPaths];
  const ignored = options.ignoredPaths ?? [];
  const candidates = candidatePaths(changed, prefixes);
  if (candidates.length === 0) return [];
  return candidates.filter((path) =>
    !ignored.some((ignore) => pathIsWithin(path, ignore)) &&
    prefixes.some((prefix) => pathIsWithin(path, prefix))
  );
}

/**
 * The paths of `changed` under the top-level folders of `prefixes`, in
 * `changed`'s order: a plan asks this of the same diff for every service,
 * so each diff is grouped by top-level folder once, and a service's question
 * costs what its own folder changed, not the whole diff.
 */
function candidatePaths(
  changed: readonly string[],
  prefixes: readonly string[],
): readonly string[] {
  if (prefixes.some((prefix) => prefix === "." || prefix === "")) {
    return changed;
  }
  let groups = positionsByTopFolder.get(changed);
  if (!groups) {
    groups = new Map();
    for (const [position, path] of changed.entries()) {
      const top = topFolder(path);
      const group = groups.get(top);
      if (group) group.push(position);
      else groups.set(top, [position]);
    }
    positionsByTopFolder.set(changed, groups);
  }
  if (prefixes.length === 1) {
    const positions = groups.get(topFolder(prefixes[0]));
    return positions ? positions.map((position) => changed[position]) : [];
  }
  const tops = [...new Set(prefixes.map(topFolder))];
  const positions = tops.flatMap((top) => groups.get(top) ?? []);
  if (tops.length > 1) positions.sort((a, b) => a - b);
  return positions.map((position) => changed[position]);
}

/** Positions in a diff's path list, by top-level folder; kept while the list is. */
const positionsByTopFolder = new WeakMap<
  readonly string[],
  Map<string, number[]>
>();

function topFolder(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

/** Inputs of {@link decideDue}, all gathered by the caller beforehand. */
export interface DueInputs {
  targets: readonly ServiceTarget[];
  state: ReadonlyMap<string, DeployedService>;
  head: string;
  /** Changed paths from each distinct deployed commit to HEAD. */
  changedSince: ReadonlyMap<string, readonly string[]>;
  /** Deployed commits that no longer exist (history rewritten). */
  missingCommits: ReadonlySet<string>;
  /** Paths that never make a service due (the state file, in single-directory mode). */
  ignoredPaths?: readonly string[];
}

/** Decides for every target whether it is out of date, and why. */
export function decideDue(inputs: DueInputs): ServiceVerdict[] {
  return inputs.targets.map((target) => {
    const record = inputs.state.get(target.name);
    const deployedCommit = record?.deployedCommit ?? null;
    const verdict = (reason?: DueReason): ServiceVerdict => ({
      service: target.name,
      deployedCommit,
      due: reason !== undefined,
      reason,
    });
    if (deployedCommit === null) return verdict({ kind: "first_deploy" });
    if (inputs.missingCommits.has(deployedCommit)) {
      return verdict({ kind: "history_rewritten", deployedCommit });
    }
    if (deployedCommit !== inputs.head) {
      const changed = inputs.changedSince.get(deployedCommit);
      if (changed === undefined) {
        throw new Error(`no diff was computed from ${deployedCommit}`);
      }
      const paths = pathsConcerning(target, changed, {
        ignoredPaths: inputs.ignoredPaths,
      });
      if (paths.length > 0) {
        return verdict({
          kind: "changed",
          paths: paths.slice(0, MAX_RECORDED_PATHS),
          totalPaths: paths.length,
        });
      }
    }
    // The agent was killed mid-run: the run it was doing is owed, even a manual one at HEAD.
    if (record?.lastOutcome === "interrupted") {
      return verdict({ kind: "interrupted" });
    }
    return verdict();
  });
}

/** Deployed commits that need a diff to HEAD: each distinct one once, whatever the number of services. */
export function diffBases(
  state: ReadonlyMap<string, DeployedService>,
  targets: readonly ServiceTarget[],
  head: string,
): string[] {
  const bases = new Set<string>();
  for (const target of targets) {
    const commit = state.get(target.name)?.deployedCommit;
    if (commit && commit !== head) bases.add(commit);
  }
  return [...bases];
}
