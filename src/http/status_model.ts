/**
 * The status the HTTP endpoint serves, built once per change by the daemon's
 * cycles rather than once per request: a flood of page views starts no git.
 */
import type { StatusDocument } from "../report/documents.ts";
import type { Logger } from "../log/logging.ts";
import type { CycleView } from "./cycle_view.ts";
import { errorMessage } from "../errors.ts";

/** What {@link StatusModel} builds its answers with. */
export interface StatusModelDeps {
  /** Builds the document (runs git: called once per change, never per request). */
  build: () => Promise<StatusDocument>;
  /** A commit's subject line ("" when unknown). */
  subject: (commit: string) => Promise<string>;
  /** Changes whenever the state changed (a `suspend` beside the daemon, a heal run between cycles). */
  stateStamp: () => string;
  logger: Logger;
}

interface Snapshot {
  document: StatusDocument;
  subjects: Map<string, string>;
  stateStamp: string;
}

/** One status per daemon, rebuilt after a cycle that moved HEAD or changed a service, kept otherwise. */
export class StatusModel {
  readonly #deps: StatusModelDeps;
  #snapshot?: Snapshot;
  #building?: Promise<Snapshot>;
  #stale = true;
  /** Times the document was built, for tests and the log. */
  builds = 0;

  constructor(deps: StatusModelDeps) {
    this.#deps = deps;
  }

  cycleFinished(report: CycleView): void {
    if (this.#changedBy(report)) {
      this.#stale = true;
      this.#refresh().catch(() => {
        // Logged by #refresh; the next request retries.
      });
    }
  }

  /** The current document: the cached one, or the one being built. */
  async document(): Promise<StatusDocument> {
    return (await this.#current()).document;
  }

  /** The subject of a deployed commit, as read when the document was built (no git per request). */
  subject(commit: string): Promise<string> {
    return Promise.resolve(this.#snapshot?.subjects.get(commit) ?? "");
  }

  #current(): Promise<Snapshot> {
    if (this.#building) return this.#building;
    if (
      this.#snapshot && !this.#stale &&
      this.#snapshot.stateStamp === this.#deps.stateStamp()
    ) {
      return Promise.resolve(this.#snapshot);
    }
    return this.#refresh();
  }

  /** One build at a time; a change during a build causes exactly one more. */
  #refresh(): Promise<Snapshot> {
    if (this.#building) return this.#building;
    this.#stale = false;
    this.#building = this.#build().then(
      (snapshot) => {
        this.#snapshot = snapshot;
        this.#building = undefined;
        if (this.#stale) this.#refresh().catch(() => {});
        return snapshot;
      },
      (error) => {
        this.#building = undefined;
        this.#stale = true;
        this.#deps.logger.error("building the status failed: {error}", {
          error: errorMessage(error),
        });
        throw error;
      },
    );
    return this.#building;
  }

  async #build(): Promise<Snapshot> {
    this.builds++;
    const stateStamp = this.#deps.stateStamp();
    const document = await this.#deps.build();
    const subjects = new Map<string, string>();
    for (const service of document.services) {
      const commit = service.deployedCommit;
      if (commit && !subjects.has(commit)) {
        subjects.set(commit, await this.#deps.subject(commit));
      }
    }
    return { document, subjects, stateStamp };
  }

  /** Whether the cycle could have changed what the status says. */
  #changedBy(report: CycleView): boolean {
    const snapshot = this.#snapshot;
    if (!snapshot) return true;
    // A failed fetch changes nothing in the work tree or the state.
    if (report.kind === "sync_failed") return false;
    const { sync, runs, removed } = report.result;
    if (runs.length > 0 || removed.length > 0) return true;
    if (
      sync.after !== snapshot.document.head ||
      sync.upstream !== snapshot.document.upstream
    ) return true;
    // Retry holds and due services change with time and state, not HEAD.
    return snapshot.document.services.some((service) =>
      service.due || service.hold !== null
    );
  }
}
