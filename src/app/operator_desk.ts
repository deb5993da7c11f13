/**
 * The daemon's side of operator requests (docs/design.md#operator-requests):
 * it notices new rows of `operator_requests` by `PRAGMA data_version` (no
 * file is read while nothing changes), carries them out one at a time, taking
 * turns with the cycles, and records each outcome.
 * @module
 */
import type { App } from "./compose.ts";
import {
  errorMessage,
  ExitCode,
  StateWriteError,
  UpstreamWatchError,
} from "../errors.ts";
import { sleep } from "../hooks/health_step.ts";
import type { OneAtATime } from "../reconcile/one_at_a_time.ts";
import {
  abandonRequests,
  claimRequest,
  finishRequest,
  type OperatorRequest,
  operatorRequest,
  pendingRequests,
  pruneRequests,
  type RequestOutcome,
  submitRequest,
} from "../state/operator_requests.ts";
import {
  type ActionContext,
  checkAction,
  deployAction,
  rollbackAction,
} from "./operator_actions.ts";

/** How often the desk asks SQLite whether another process changed the file, without a file watch (ms). */
const WATCH_MS = 100;
/** With a watch on the WAL file, a slow look in case an event was missed (ms). */
const WATCHED_LOOK_MS = 2_000;

/** Why requests left by a stopped daemon end without running. */
export const ABANDONED =
  "the daemon stopped before carrying out this request; nothing ran";

/** Carries out the operator's requests inside the daemon. */
export class OperatorDesk {
  readonly #app: App;
  readonly #context: ActionContext;
  readonly #turns: OneAtATime;
  readonly #finished = new Map<number, Array<() => void>>();
  #wake?: () => void;
  /** Something may have changed since the last look. */
  #poked = false;

  constructor(
    app: App,
    options: { context: ActionContext; turns: OneAtATime },
  ) {
    this.#app = app;
    this.#context = options.context;
    this.#turns = options.turns;
    // Requests of a daemon that stopped are not this one's to carry out.
    const ended = abandonRequests(app.store, {
      exitCode: ExitCode.locked,
      error: ABANDONED,
      now: Date.now(),
    });
    if (ended > 0) {
      app.logger.warn(
        "{count} operator requests left by the previous daemon were not carried out",
        { count: ended },
      );
    }
  }

  /** Records a request from this process (the HTTP API) and starts it at once. */
  submit(
    request: Pick<OperatorRequest, "action" | "services" | "options">,
  ): number {
    const id = submitRequest(this.#app.store, {
      ...request,
      source: "http",
      now: Date.now(),
    });
    this.#poke();
    return id;
  }

  /** Look at the requests again at once. */
  #poke(): void {
    this.#poked = true;
    this.#wake?.();
  }

  /** The request, once it is done or `timeoutMs` passed (then as it stands). */
  async settled(id: number, timeoutMs: number): Promise<OperatorRequest> {
    const now = operatorRequest(this.#app.store, id);
    if (!now || now.state === "done") return now!;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const waiting = this.#finished.get(id) ?? [];
      waiting.push(done);
      this.#finished.set(id, waiting);
    });
    this.#finished.delete(id);
    return operatorRequest(this.#app.store, id)!;
  }

  /** Carries out requests until `stop`; `kill` interrupts the one in progress. */
  async run(stop: AbortSignal, kill: AbortSignal): Promise<void> {
    // A commit of another process writes the WAL file: watching it costs
    // nothing while idle. Without a watch, data_version is asked every 100 ms.
    const watcher = watchFile(`${this.#app.store.file}-wal`);
    const watching = watcher
      ? (async () => {
        try {
          for await (const _event of watcher) this.#poke();
        } catch {
          // The watch ended (file gone): the slow look below still runs.
        }
      })()
      : undefined;
    const lookMs = watcher ? WATCHED_LOOK_MS : WATCH_MS;
    let stamp = "";
    try {
      while (!stop.aborted) {
        this.#poked = false;
        try {
          const current = this.#app.store.changeStamp();
          if (current !== stamp) {
            stamp = current;
            // Our own writes change the stamp too: one more look, then quiet.
            await this.#work(stop, kill);
          }
        } catch (error) {
          // The daemon loop reports the outage and waits it out; requests
          // are looked at again once the state file can be used.
          if (!(error instanceof StateWriteError)) throw error;
          stamp = "";
          this.#poked = false;
        }
        if (this.#poked) continue;
        const woken = new AbortController();
        this.#wake = () => woken.abort();
        await sleep(lookMs, AbortSignal.any([stop, woken.signal]));
        this.#wake = undefined;
      }
    } finally {
      watcher?.close();
      await watching;
    }
    try {
      abandonRequests(this.#app.store, {
        exitCode: ExitCode.locked,
        error: ABANDONED,
        now: Date.now(),
      });
    } catch (error) {
      // Unwritable now: the next daemon abandons them as it starts.
      if (!(error instanceof StateWriteError)) throw error;
    }
    for (const waiting of this.#finished.values()) {
      for (const wake of waiting) wake();
    }
  }

  /** One request at a time, oldest first: two requests for one service never run at once. */
  async #work(stop: AbortSignal, kill: AbortSignal): Promise<void> {
    for (
      let next = pendingRequests(this.#app.store)[0];
      next && !stop.aborted;
      next = pendingRequests(this.#app.store)[0]
    ) {
      if (!claimRequest(this.#app.store, next.id, Date.now())) continue;
      const request = next;
      const outcome = await this.#turns.run(() =>
        this.#carryOut(request, stop, kill)
      );
      finishRequest(this.#app.store, request.id, {
        ...outcome,
        now: Date.now(),
      });
      pruneRequests(this.#app.store);
      for (const wake of this.#finished.get(request.id) ?? []) wake();
    }
  }

  async #carryOut(
    request: OperatorRequest,
    stop: AbortSignal,
    kill: AbortSignal,
  ): Promise<RequestOutcome> {
    const log = this.#app.logger;
    log.info("operator request {id} ({source}): {action} {services}", {
      id: request.id,
      source: request.source,
      action: request.action,
      services: request.services.join(", "),
    });
    const context = { ...this.#context, stop, signal: kill };
    try {
      const [service] = request.services;
      switch (request.action) {
        case "deploy":
          return await deployAction(this.#app, {
            services: request.services.length === 0 ? "all" : request.services,
            force: request.options.force ?? false,
          }, context);
        case "rollback":
          return await rollbackAction(this.#app, {
            service,
            to: request.options.to,
          }, context);
        case "check":
          return await checkAction(this.#app, { service }, context);
      }
    } catch (error) {
      const expected = error instanceof UpstreamWatchError;
      if (!expected) {
        log.error("operator request {id} failed: {error}", {
          id: request.id,
          error: errorMessage(error),
        });
      }
      return {
        exitCode: expected ? error.exitCode : ExitCode.updateFailed,
        lines: [],
        runIds: [],
        error: expected
          ? error.message
          : `internal error: ${errorMessage(error)}`,
      };
    }
  }
}

/** A watch on `path`, or undefined where it cannot be watched (no such file, no watch support). */
function watchFile(path: string): Deno.FsWatcher | undefined {
  try {
    return Deno.watchFs(path, { recursive: false });
  } catch {
    return undefined;
  }
}
