/** Which commit each service of the original Go tool's database counts as deployed at. */
import { normalizeCommitId } from "../git/commit_id.ts";
import type { LegacyModule } from "./store.ts";

/** The git questions the import asks (a {@link GitClient} answers them). */
export interface LegacyImportGit {
  existingCommits(commits: readonly string[]): Promise<Set<string>>;
  independentCommits(commits: readonly string[]): Promise<string[]>;
}

/** What one service's rows came to. */
export type LegacyVerdict =
  | { service: string; kind: "imported"; commit: string; recorded: number }
  /** None of its recorded commits is in the repository: it counts as never deployed. */
  | { service: string; kind: "unknown_commits"; recorded: number };

/** The outcome of reading the Go tool's rows. */
export interface LegacyImport {
  verdicts: LegacyVerdict[];
  /** Recorded values that are not commit ids (each is skipped). */
  invalid: { service: string; value: string }[];
  /** Rows without any commit (NULL). */
  withoutCommit: number;
}

/**
 * Decides each service's deployed commit: of its recorded commits that exist,
 * the one that descends from all the others (row order is no evidence of
 * recency). Commits on diverged lines, none descending from the rest, are
 * decided by the newest row among them.
 */
export async function decideLegacyDeployments(
  modules: readonly LegacyModule[],
  git: LegacyImportGit,
  options: { singleService?: string } = {},
): Promise<LegacyImport> {
  const byService = new Map<string, string[]>();
  const invalid: { service: string; value: string }[] = [];
  let withoutCommit = 0;
  for (const module of modules) {
    const service = options.singleService ?? module.name;
    const commits = byService.get(service) ?? [];
    byService.set(service, commits);
    if (module.commit === null || module.commit.trim() === "") {
      withoutCommit++;
      continue;
    }
    const commit = normalizeCommitId(module.commit);
    if (commit === undefined) {
      invalid.push({ service, value: module.commit });
    } else if (!commits.includes(commit)) {
      commits.push(commit);
    }
  }
  const existing = await git.existingCommits([
    ...new Set([...byService.values()].flat()),
  ]);
  // Services updated together share their commits: ask git once per distinct set.
  const independent = new Map<string, Promise<string[]>>();
  const verdicts: LegacyVerdict[] = [];
  for (const [service, recorded] of byService) {
    const candidates = recorded.filter((commit) => existing.has(commit));
    if (candidates.length === 0) {
      if (recorded.length > 0) {
        verdicts.push({
          service,
          kind: "unknown_commits",
          recorded: recorded.length,
        });
      }
      continue;
    }
    let newest = candidates[0];
    if (candidates.length > 1) {
      const key = [...candidates].sort().join(" ");
      let heads = independent.get(key);
      if (!heads) {
        heads = git.independentCommits(candidates);
        independent.set(key, heads);
      }
      const tips = new Set(await heads);
      newest = candidates.find((commit) => tips.has(commit)) ?? newest;
    }
    verdicts.push({
      service,
      kind: "imported",
      commit: newest,
      recorded: recorded.length,
    });
  }
  return { verdicts, invalid, withoutCommit };
}
