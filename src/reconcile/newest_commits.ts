/**
 * The commits that touched a service: the newest one at the target commit
 * (runs count their attempts per revision) and those since it was deployed
 * (the run's "why"). When the work tree moved by one ordinary commit, both
 * are known from that commit's parent and the diff the plan already has: a
 * commit touches a service exactly when its diff from its only parent
 * touches the service's paths. Anything else asks `git log`, which on a
 * large tree reads the root tree of every commit it walks.
 * @module
 */
import type { GitClient } from "../git/git_client.ts";
import type { TouchingQuery } from "../git/read_cache.ts";
import { pathsConcerning } from "./due.ts";
import { type ServiceEntry, servicePaths, serviceTarget } from "./services.ts";

/** The `git log` question of the newest commit at `head` that touched the service. */
function newestQuery(entry: ServiceEntry, head: string): TouchingQuery {
  return { to: head, paths: servicePaths(entry), limit: 1 };
}

/** A commit and its subject, as runs record them. */
export interface TouchingCommit {
  commit: string;
  subject: string;
}

/** The commits that touched a service, from the pushed commit when it can tell. */
export class NewestCommits {
  readonly #git: GitClient;
  #pushed?: {
    before: string;
    upstream: string;
    header: Promise<{ parents: string[]; subject: string } | undefined>;
  };

  constructor(git: GitClient) {
    this.#git = git;
  }

  /** The work tree moves from `before` to `upstream`: reads `upstream`'s parents and subject meanwhile. */
  moving(before: string, upstream: string): void {
    this.#pushed = {
      before,
      upstream,
      header: this.#git.commitHeader(upstream).catch(() => undefined),
    };
  }

  /** The newest commit at `head` that touched the service (none in a history that never did). */
  async newest(entry: ServiceEntry, head: string): Promise<TouchingCommit[]> {
    const pushed = await this.#fromPushed(entry, head);
    if (pushed?.length) return pushed;
    return await this.#git.reads.commitsTouching(newestQuery(entry, head));
  }

  /** Starts the `git log` {@link newest} will ask for, unless the pushed commit answers it. */
  readAhead(entry: ServiceEntry, head: string): void {
    this.#fromPushed(entry, head).then((pushed) => {
      if (pushed?.length) return;
      this.#git.reads.readAhead(newestQuery(entry, head));
    }, () => {});
  }

  /** Commits after `from` up to `head` that touched the service, newest first, at most `limit`. */
  async since(
    entry: ServiceEntry,
    range: { from?: string; to: string; limit: number },
  ): Promise<TouchingCommit[]> {
    if (range.from !== undefined && range.from === this.#pushed?.before) {
      const pushed = await this.#fromPushed(entry, range.to);
      if (pushed !== undefined) return pushed.slice(0, range.limit);
    }
    return await this.#git.commitsTouching({
      ...range,
      paths: servicePaths(entry),
    });
  }

  /**
   * `[upstream]` when the pushed commit touched the service, `[]` when it
   * did not (the range `before..upstream` is that one commit); undefined
   * when only `git log` can tell: another target, a merge or a push of
   * several commits, a path git would read as a wildcard pattern.
   */
  async #fromPushed(
    entry: ServiceEntry,
    head: string,
  ): Promise<TouchingCommit[] | undefined> {
    const pushed = this.#pushed;
    if (!pushed || pushed.upstream !== head) return undefined;
    const paths = servicePaths(entry);
    if (paths.some((path) => /[*?[\\]/.test(path))) return undefined;
    const header = await pushed.header;
    if (header?.parents.length !== 1 || header.parents[0] !== pushed.before) {
      return undefined;
    }
    let changed: readonly string[];
    try {
      changed = (await this.#git.changedPathsFrom([pushed.before], head))
        .get(pushed.before)!;
    } catch {
      return undefined;
    }
    const touched = pathsConcerning(serviceTarget(entry), changed).length > 0;
    return touched ? [{ commit: head, subject: header.subject }] : [];
  }
}
