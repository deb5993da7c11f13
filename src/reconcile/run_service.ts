/**
 * An update (or heal) of one service at the cycle's commit: the commits that
 * made it due, its attempt number and its hook steps, as one
 * {@link ServiceRun}. See docs/design.md#running-a-service.
 * @module
 */
import { shortCommit } from "../git/commit_id.ts";
import { configFailure, runHookSteps } from "../hooks/run_steps.ts";
import type { RunReason, Trigger } from "../state/types.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { describeReason } from "../results/describe.ts";
import { type RunContext, ServiceRun, workTreeFiles } from "./service_run.ts";
import type { ServiceEntry } from "./services.ts";

export type { RunContext } from "./service_run.ts";

/** Commits listed per run as "what made it due". */
const MAX_RECORDED_COMMITS = 20;

/** Why and from where one service runs. */
export interface ServiceRunOptions {
  head: string;
  reason: RunReason;
  deployedCommit: string | null;
  trigger: Trigger;
  signal?: AbortSignal;
}

/** Runs one service's steps at `head` and records the run from start to finish. */
export async function runService(
  entry: ServiceEntry,
  options: ServiceRunOptions,
  context: RunContext,
): Promise<RunSummary> {
  const { store } = context;
  const from = options.reason.kind === "changed"
    ? options.deployedCommit ?? undefined
    : undefined;
  // The newest commit is all the run needs to start (attempts count per
  // revision, as the plan counts them); the "why" list of the range is read
  // while its commands run: a range walks all of it, the newest commit does not.
  const newest = await context.commits.newest(entry, options.head);
  const revision = newest[0]?.commit ?? options.head;
  const startedReason: RunReason = options.reason.kind === "changed"
    ? { ...options.reason, commits: newest }
    : options.reason;
  const record = store.services().get(entry.name);
  const attempt = record?.failedRevision === revision
    ? record.failedAttempts + 1
    : 1;
  const run = ServiceRun.start(context, {
    service: entry.name,
    trigger: options.trigger,
    reason: startedReason,
    fromCommit: options.deployedCommit,
    toCommit: options.head,
    revision,
    attempt,
    announced: true,
  });
  const log = run.log;
  log.info("updating ({why}), run {runId}, attempt {attempt}", {
    why: describeReason(startedReason),
    attempt,
  });
  const listReason = (): Promise<RunReason> =>
    context.commits.since(entry, {
      from,
      to: options.head,
      limit: MAX_RECORDED_COMMITS,
    }).then((commits): RunReason => {
      const full = { ...options.reason, commits } as RunReason;
      if (JSON.stringify(commits) !== JSON.stringify(newest)) {
        store.recordRunReason(run.runId, full);
      }
      return full;
    }, (error): RunReason => {
      // The run goes on: only the list of older commits is missing.
      log.warn("cannot list the commits of this run: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
      return startedReason;
    });
  // Listed once the first command has started (or the run is over): starting
  // this git process does not delay the command.
  let fullReason: Promise<RunReason> | undefined;
  const listWhy = () =>
    fullReason ??= options.reason.kind === "changed" && newest.length > 0
      ? listReason()
      : Promise.resolve(startedReason);

  const config = entry.config;
  let outcome;
  if (!config) {
    const message = entry.error?.message ?? "invalid hook file";
    log.error(message);
    outcome = configFailure(message);
  } else {
    outcome = await run.steps(
      workTreeFiles(context.repoRoot, entry),
      (hooks) =>
        runHookSteps({ ...hooks, config, secrets: run.secrets(entry.dir) }),
      { signal: options.signal, onCommandStarted: listWhy },
    );
  }
  const summary = run.finish(outcome, { reason: await listWhy() });
  if (summary.outcome === "succeeded") {
    log.info("deployed {short}", { short: shortCommit(options.head) });
  } else {
    log.error("run {runId} {outcome}: {error}", {
      outcome: summary.outcome,
      error: summary.error,
    });
  }
  return summary;
}
