/**
 * The speed layer over git, in one place (docs/performance.md): what a cycle
 * asks git about commits, asked once. Two kinds of answer are kept, both
 * about git objects only (full commit ids), which cannot change in between:
 *
 * - diffs, per pair of commits, for the newest two targets ({@link DiffMemo});
 * - questions read ahead while the work tree moves (the newest commit that
 *   touched a service), each taken by the first identical question and
 *   dropped when the cycle ends ({@link GitReadCache.dropReadAhead}).
 *
 * The sync stage starts the reading ahead; the agent drops it after each plan
 * and cycle. Nothing here intercepts other git commands.
 * @module
 */
import { type AskDiffs, DiffMemo } from "./diff_memo.ts";
import type { PathChange } from "./tree_listing.ts";

/** A `git log` question: commits in `from..to` touching `paths`, newest first. */
export interface TouchingQuery {
  from?: string;
  to: string;
  paths: readonly string[];
  limit: number;
}

/** A commit and its subject. */
export interface CommitSubject {
  commit: string;
  subject: string;
}

/** How the cache asks git what it does not know. */
export interface CacheQuestions {
  diffs: AskDiffs;
  commitsTouching: (query: TouchingQuery) => Promise<CommitSubject[]>;
}

/** Diffs per pair of commits, and the `git log` questions read ahead for one cycle. */
export class GitReadCache {
  readonly #ask: CacheQuestions;
  readonly #diffs: DiffMemo;
  /** A diff's paths, one list per diff: the plan groups each list once. */
  readonly #pathLists = new WeakMap<readonly PathChange[], string[]>();
  readonly #ahead = new Map<string, Promise<CommitSubject[]>>();

  constructor(ask: CacheQuestions) {
    this.#ask = ask;
    this.#diffs = new DiffMemo(ask.diffs);
  }

  /** What changed from each base to `to`: known, composed, or asked in one call for the rest. */
  changesFrom(
    bases: readonly string[],
    to: string,
  ): Promise<Map<string, PathChange[]>> {
    return this.#diffs.changesFrom(bases, to);
  }

  /** The paths of a diff {@link changesFrom} answered; the same list each time it is asked. */
  pathsOf(section: readonly PathChange[]): string[] {
    let paths = this.#pathLists.get(section);
    if (!paths) {
      paths = section.map((change) => change.path);
      this.#pathLists.set(section, paths);
    }
    return paths;
  }

  /** Starts `query` now, for the first identical {@link commitsTouching} to take. */
  readAhead(query: TouchingQuery): void {
    const key = queryKey(query);
    if (this.#ahead.has(key)) return;
    const answer = this.#ask.commitsTouching(query);
    // Never an unhandled rejection: the question that takes it sees the error.
    answer.catch(() => {});
    this.#ahead.set(key, answer);
  }

  /** The answer read ahead for `query` (taken once), else git's. */
  commitsTouching(query: TouchingQuery): Promise<CommitSubject[]> {
    const key = queryKey(query);
    const ahead = this.#ahead.get(key);
    if (!ahead) return this.#ask.commitsTouching(query);
    this.#ahead.delete(key);
    return ahead;
  }

  /** Forgets the answers read ahead that no question took. */
  dropReadAhead(): void {
    this.#ahead.clear();
  }
}

function queryKey(query: TouchingQuery): string {
  return [query.from ?? "", query.to, query.limit, ...query.paths].join("\0");
}
