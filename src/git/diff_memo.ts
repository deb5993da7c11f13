/**
 * Diffs between commits, each pair asked of git once: a cycle's plan, its
 * service listing and its configuration ask about the same pair of commits.
 * A base whose diff to the previous target is known is composed through it
 * ({@link composeDiffs}): when HEAD moves, one diff from the previous HEAD
 * answers every deployed commit. Answers are kept for the newest two
 * targets; a failed answer is not kept.
 * @module
 */
import { composeDiffs } from "./diff_compose.ts";
import type { PathChange } from "./tree_listing.ts";

/** Asks git for the diffs from several bases to one target, in one process. */
export type AskDiffs = (
  bases: readonly string[],
  to: string,
) => Promise<Map<string, PathChange[]>>;

/** Diffs to one target commit, by base. */
interface DiffsTo {
  to: string;
  byBase: Map<string, Promise<PathChange[]>>;
}

/** The diffs a client was asked for, for its newest two target commits. */
export class DiffMemo {
  readonly #ask: AskDiffs;
  #current?: DiffsTo;
  #previous?: DiffsTo;

  constructor(ask: AskDiffs) {
    this.#ask = ask;
  }

  /** What changed from each base to `to`: known, composed, or asked in one call for the rest. */
  changesFrom(
    bases: readonly string[],
    to: string,
  ): Promise<Map<string, PathChange[]>> {
    if (this.#current?.to !== to) {
      this.#previous = this.#current;
      this.#current = { to, byBase: new Map() };
    }
    const current = this.#current.byBase;
    const previous = this.#previous;
    const missing = [...new Set(bases)].filter((base) => !current.has(base));
    const through = previous
      ? missing.filter((base) =>
        base !== previous.to && previous.byBase.has(base)
      )
      : [];
    const asked = missing.filter((base) => !through.includes(base));
    if (
      previous && through.length > 0 && !current.has(previous.to) &&
      !asked.includes(previous.to)
    ) {
      asked.push(previous.to);
    }
    if (asked.length > 0) {
      const answer = this.#ask(asked, to);
      for (const base of asked) {
        keep(current, base, answer.then((sections) => sections.get(base)!));
      }
    }
    for (const base of through) {
      keep(
        current,
        base,
        Promise.all([previous!.byBase.get(base)!, current.get(previous!.to)!])
          .then(([first, second]) => composeDiffs(first, second)),
      );
    }
    return Promise.all(
      bases.map(async (base) => [base, await current.get(base)!] as const),
    ).then((sections) => new Map(sections));
  }
}

/** Keeps `answer` for `base` until it fails. */
function keep(
  byBase: Map<string, Promise<PathChange[]>>,
  base: string,
  answer: Promise<PathChange[]>,
): void {
  answer.catch(() => {
    if (byBase.get(base) === answer) byBase.delete(base);
  });
  byBase.set(base, answer);
}
