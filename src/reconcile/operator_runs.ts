/**
 * Runs that are not a cycle's deploy of HEAD: an operator's rollback to an
 * earlier commit, and the heal of a held service at the commit it runs. Both
 * use the rollback machinery (docs/design.md#rollback).
 * @module
 */
import { UsageError } from "../errors.ts";
import { rollbacks } from "../state/rollbacks.ts";
import { suspensionOf, suspensions } from "../state/suspensions.ts";
import { runService } from "./run_service.ts";
import type { RunSummary } from "./cycle_types.ts";
import {
  rollbackDestination,
  type RunningRevision,
  runningRevision,
} from "./held_revision.ts";
import { runRollback } from "./rollback.ts";
import type { RunDueDeps } from "./run_due.ts";
import type { ServiceEntry } from "./services.ts";

/** What these runs share with the agent: the run context, the work tree gate and who is running. */
export type OperatorRunDeps = RunDueDeps;

/** The revision `entry` runs at `head` (see {@link runningRevision}). */
export async function runningRevisionOf(
  entry: ServiceEntry,
  head: string,
  deps: OperatorRunDeps,
): Promise<RunningRevision | undefined> {
  const { context } = deps;
  const newest = await context.commits.newest(entry, head);
  return await runningRevision(entry, {
    head,
    revision: newest[0]?.commit ?? head,
    record: context.store.services().get(entry.name),
    rollback: rollbacks(context.store).get(entry.name),
    git: context.git,
  });
}

/** Redeploys the revision the service runs (trigger `heal`), unless it is suspended, busy or never deployed. */
export async function healService(
  entry: ServiceEntry,
  options: { head: string; error: string; signal?: AbortSignal },
  deps: OperatorRunDeps,
): Promise<RunSummary | undefined> {
  const { context } = deps;
  if (suspensionOf(suspensions(context.store), entry.name)) return undefined;
  const deployedCommit = context.store.services().get(entry.name)
    ?.deployedCommit;
  if (!deployedCommit || deps.activity.isRunning(entry.name)) {
    return undefined;
  }
  const running = await runningRevisionOf(entry, options.head, deps);
  if (running?.kind === "held") {
    return await healHeld(entry, running, options, deps);
  }
  return await deps.gate.shared(() =>
    deps.activity.run(entry.name, () =>
      runService(entry, {
        head: options.head,
        reason: { kind: "heal", error: options.error },
        deployedCommit,
        trigger: "heal",
        signal: options.signal,
      }, context))
  );
}

/** Heals a held service at the commit it was rolled back to; the hold stays. */
async function healHeld(
  entry: ServiceEntry,
  running: Extract<RunningRevision, { kind: "held" }>,
  options: { head: string; error: string; signal?: AbortSignal },
  deps: OperatorRunDeps,
): Promise<RunSummary> {
  const { rollback } = running;
  return await deps.gate.exclusive(() =>
    deps.activity.run(entry.name, () =>
      runRollback({
        entry,
        failedCommit: rollback.failedCommit,
        failedRunId: rollback.failedRunId,
        revision: rollback.heldRevision,
        deployedCommit: running.commit,
        headCommit: options.head,
        by: { heal: options.error },
      }, { ...deps.context, signal: options.signal }))
  );
}

/**
 * `rollback SERVICE [--to COMMIT]`: sets the service's files to an earlier
 * commit it was deployed at and runs its steps there; that commit becomes the
 * deployed one and HEAD's revision is held until a new one or a `deploy`.
 */
export async function manualRollback(
  entry: ServiceEntry,
  options: { head: string; to?: string; signal?: AbortSignal },
  deps: OperatorRunDeps,
): Promise<RunSummary> {
  const { context } = deps;
  const { store } = context;
  const to = options.to === undefined
    ? undefined
    : await commitId(options.to, deps);
  const newest = await context.commits.newest(entry, options.head);
  return await deps.gate.exclusive(() =>
    deps.activity.run(entry.name, () => {
      // Read once the service is alone: a deploy it waited for moved its commit.
      const record = store.services().get(entry.name);
      const destination = rollbackDestination(store, {
        service: entry.name,
        deployedCommit: record?.deployedCommit ?? null,
        to,
      });
      return runRollback({
        entry,
        failedCommit: options.head,
        failedRunId: record?.lastRunId ?? 0,
        revision: newest[0]?.commit ?? options.head,
        deployedCommit: destination,
        by: "operator",
      }, { ...context, signal: options.signal });
    })
  );
}

/** The full id of a commit the operator named; a usage error when there is none. */
async function commitId(name: string, deps: OperatorRunDeps): Promise<string> {
  try {
    const [commit] = await deps.context.git.revParse([`${name}^{commit}`]);
    return commit;
  } catch {
    throw new UsageError(`--to ${name} names no commit of this repository`);
  }
}
