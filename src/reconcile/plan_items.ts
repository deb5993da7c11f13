/**
 * The plan stage: which of a commit's services are out of date, and which of
 * those are held (suspended, rolled back, backing off, waiting on a
 * dependency). See docs/design.md#change-detection and
 * docs/design.md#attempts-and-holds.
 * @module
 */
import type { RepoConfig } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import { GitError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import { rollbacks } from "../state/rollbacks.ts";
import type { StateStore } from "../state/store.ts";
import { suspensions } from "../state/suspensions.ts";
import type { ServiceRecord } from "../state/types.ts";
import type { Hold, PlanItem } from "./cycle_types.ts";
import { holdDependents } from "./dependencies.ts";
import {
  decideDue,
  diffBases,
  pathsConcerning,
  type ServiceTarget,
} from "./due.ts";
import type { NewestCommits } from "./newest_commits.ts";
import { retryHold } from "./retry.ts";
import { safetyHold } from "./safety_holds.ts";
import { type ServiceEntry, serviceTarget } from "./services.ts";

/** What the plan stage works with. */
export interface PlanItemsDeps {
  git: GitClient;
  store: StateStore;
  logger: Logger;
  now: () => number;
  newest: NewestCommits;
}

/** Plan items of a commit's services, with git's answers kept for the current target commit. */
export class PlanItems {
  readonly #deps: PlanItemsDeps;
  /** Unusable deployed commits already logged (service and value), so each is reported once. */
  #reportedInvalidCommits = new Set<string>();
  /** Diffs and revisions never change for a given pair of commits; kept for the current target only. */
  #gitCache = {
    head: "",
    diffs: new Map<string, string[]>(),
    revisions: new Map<string, string>(),
  };

  /**
   * Commits seen to exist (targets, and deployed commits git confirmed): a
   * cycle asks git only about the others. Bounded; cleared when it grows.
   */
  #knownCommits = new Set<string>();

  constructor(deps: PlanItemsDeps) {
    this.#deps = deps;
  }

  /** One item per service at `head`: out of date or not, due or held, and why. */
  async items(
    services: readonly ServiceEntry[],
    state: ReadonlyMap<string, ServiceRecord>,
    head: string,
    config: RepoConfig,
  ): Promise<PlanItem[]> {
    const { git, logger, now } = this.#deps;
    if (this.#gitCache.head !== head) {
      this.#gitCache = { head, diffs: new Map(), revisions: new Map() };
    }
    this.#reportInvalidCommits(services, state);
    const targets: ServiceTarget[] = services.map(serviceTarget);
    const bases = diffBases(state, targets, head).filter((base) =>
      !this.#gitCache.diffs.has(base)
    );
    this.#knownCommits.add(head);
    let { existing, missing } = await this.#existing(bases, false);
    let diffs: Map<string, string[]>;
    try {
      diffs = await git.changedPathsFrom([...existing], head);
    } catch (error) {
      // A commit known before may have been pruned since: ask git about each again.
      if (!(error instanceof GitError)) throw error;
      ({ existing, missing } = await this.#existing(bases, true));
      diffs = await git.changedPathsFrom([...existing], head);
    }
    for (const commit of missing) {
      logger.warn(
        "deployed commit {commit} no longer exists (history was rewritten); its services are due",
        { commit },
      );
    }
    const suspended = suspensions(this.#deps.store);
    const rolledBack = rollbacks(this.#deps.store);
    for (const [base, paths] of diffs) this.#gitCache.diffs.set(base, paths);
    const verdicts = decideDue({
      targets,
      state,
      head,
      changedSince: this.#gitCache.diffs,
      missingCommits: missing,
      ignoredPaths: stateFilePaths(config),
    });
    const items: PlanItem[] = [];
    for (const [index, verdict] of verdicts.entries()) {
      const entry = services[index];
      const record = state.get(entry.name);
      let hold: Hold | undefined;
      if (verdict.due) {
        const rollback = rolledBack.get(entry.name);
        hold = safetyHold(entry.name, {
          suspensions: suspended,
          rollback,
          // Only a service rolled back from its deployed commit may be held: a revision costs a git process.
          revision: rollback?.deployedCommit === verdict.deployedCommit
            ? await this.#revision(entry, head)
            : undefined,
          deployedCommit: verdict.deployedCommit,
        });
      }
      if (!hold && verdict.due && record && record.failedAttempts > 0) {
        hold = retryHold(record, {
          revision: await this.#revision(entry, head),
          now: now(),
          maxAttempts: config.maxAttempts,
          backoffSeconds: config.retryBackoff,
        });
      }
      items.push({
        service: verdict.service,
        dir: entry.dir,
        deployedCommit: verdict.deployedCommit,
        outOfDate: verdict.due,
        due: verdict.due && hold === undefined,
        reason: verdict.reason,
        hold,
        configError: verdict.due ? entry.error?.message : undefined,
        dependsOn: entry.config?.dependsOn ?? [],
        secrets: (entry.config?.secrets ?? []).map(({ file, to }) => ({
          file,
          to,
        })),
      });
    }
    holdDependents(items);
    return items;
  }

  /**
   * Starts the diff {@link items} at `head` will ask for, when every deployed
   * commit is known to exist; once it is answered, the newest commit of the
   * first few services it makes due (their runs start by reading it).
   */
  prefetch(
    services: readonly ServiceEntry[],
    state: ReadonlyMap<string, ServiceRecord>,
    head: string,
  ): void {
    const bases = diffBases(state, services.map(serviceTarget), head);
    if (bases.some((commit) => !this.#knownCommits.has(commit))) return;
    this.#deps.git.changedPathsFrom(bases, head).then((diffs) => {
      let started = 0;
      for (const entry of services) {
        const base = state.get(entry.name)?.deployedCommit;
        const changed = base ? diffs.get(base) : undefined;
        if (
          !changed || !pathsConcerning(serviceTarget(entry), changed).length
        ) {
          continue;
        }
        if (++started > PREFETCHED_REVISIONS) break;
        this.#deps.newest.prefetch(entry, head);
      }
    }, () => {});
  }

  /** Which of `bases` exist; `recheck` asks git about every one, known or not. */
  async #existing(
    bases: readonly string[],
    recheck: boolean,
  ): Promise<{ existing: Set<string>; missing: Set<string> }> {
    const known = this.#knownCommits;
    if (recheck) known.clear();
    const unknown = bases.filter((commit) => !known.has(commit));
    const found = await this.#deps.git.existingCommits(unknown);
    if (known.size + found.size > MAX_KNOWN_COMMITS) known.clear();
    for (const commit of found) known.add(commit);
    const existing = new Set(
      bases.filter((commit) => found.has(commit) || known.has(commit)),
    );
    const missing = new Set(bases.filter((commit) => !existing.has(commit)));
    return { existing, missing };
  }

  /** Logs each unusable deployed commit in the state file once. */
  #reportInvalidCommits(
    services: readonly ServiceEntry[],
    state: ReadonlyMap<string, ServiceRecord>,
  ): void {
    for (const entry of services) {
      const invalid = state.get(entry.name)?.invalidDeployedCommit;
      if (invalid === undefined) continue;
      const key = `${entry.name}\0${invalid}`;
      if (this.#reportedInvalidCommits.has(key)) continue;
      this.#reportedInvalidCommits.add(key);
      this.#deps.logger.error(
        "the state file records {value} as the deployed commit of {service}, which is not a commit id; the service counts as never deployed",
        { service: entry.name, value: JSON.stringify(invalid) },
      );
    }
  }

  /** The newest commit at `head` that touched the service (attempts are counted per revision). */
  async #revision(entry: ServiceEntry, head: string): Promise<string> {
    const cached = this.#gitCache.revisions.get(entry.name);
    if (cached) return cached;
    const [newest] = await this.#deps.newest.newest(entry, head);
    const revision = newest?.commit ?? head;
    this.#gitCache.revisions.set(entry.name, revision);
    return revision;
  }
}

/** Due services whose newest commit is read ahead, while the work tree moves. */
const PREFETCHED_REVISIONS = 4;

/** Known commits kept before the set starts again (each is 40–64 characters). */
const MAX_KNOWN_COMMITS = 100_000;

/** The state file's own paths, which never make the single-directory service due. */
function stateFilePaths(config: RepoConfig): string[] {
  const file = config.stateFile;
  return [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
}
