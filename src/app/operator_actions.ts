/**
 * What `deploy`, `rollback` and `check` do, apart from who asked: the command
 * itself when no daemon runs, or the daemon carrying out a request of the
 * command or of the HTTP API (docs/design.md#operator-requests). Each returns
 * the exit code and the lines the command prints; refusals are thrown as the
 * command's own errors.
 * @module
 */
import { resolve } from "node:path";
import type { App } from "./compose.ts";
import { configEnvReferences } from "../config/env_references.ts";
import { ExitCode, UsageError } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import { checkHealth } from "../hooks/health_step.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { runsOnHost, selectServices } from "../reconcile/services.ts";
import type { RequestOutcome } from "../state/operator_requests.ts";
import {
  describeSuspension,
  suspensionOf,
  suspensions,
} from "../state/suspensions.ts";
import type { HealthReporting } from "./self_healer.ts";

/** What every action works with beside the app. */
export interface ActionContext {
  notifier: Pick<Notifier, "runsFinished" | "send">;
  /** Where checks and heals are reported. */
  health: HealthReporting;
  /** Aborted: start no further service. */
  stop?: AbortSignal;
  /** Aborted: kill the running command. */
  signal?: AbortSignal;
}

/** `deploy [--force] SERVICE... | --all`: the update at HEAD now, due or not; a success ends a hold. */
export async function deployAction(
  app: App,
  options: { services: readonly string[] | "all"; force: boolean },
  context: ActionContext,
): Promise<RequestOutcome> {
  if (!options.force) await refuseSuspended(app, options.services);
  const result = await app.agent.deploy(options.services, {
    trigger: "manual",
    stop: context.stop,
    signal: context.signal,
    force: options.force,
  });
  context.notifier.runsFinished(result);
  return {
    exitCode: result.failed ? ExitCode.updateFailed : ExitCode.ok,
    lines: result.runs.map(runLine),
    runIds: result.runs.map((run) => run.runId),
  };
}

/** `rollback SERVICE [--to COMMIT]`: an earlier deployed commit, through the rollback machinery. */
export async function rollbackAction(
  app: App,
  options: { service: string; to?: string },
  context: ActionContext,
): Promise<RequestOutcome> {
  const summary = await app.agent.rollback(options.service, {
    to: options.to,
    signal: context.signal,
  });
  const run = app.store.run(summary.runId);
  context.notifier.runsFinished({
    trigger: "rollback",
    sync: {
      before: run?.fromCommit ?? run?.toCommit ?? "",
      after: run?.toCommit ?? "",
      upstream: run?.fromCommit ?? "",
    },
    runs: [summary],
    removed: [],
    failed: summary.outcome !== "succeeded",
  });
  const lines = [runLine(summary)];
  if (summary.outcome === "succeeded" && run) {
    lines.push(
      `${options.service}: deployed at ${
        shortCommit(run.toCommit)
      }; HEAD's revision is held until a new revision or "upstream-watch deploy ${options.service}"`,
    );
  }
  return runOutcome(summary, lines);
}

/** `check SERVICE`: its health commands now (at the revision it runs); a failure is healed like the check loop heals it. */
export async function checkAction(
  app: App,
  options: { service: string },
  context: ActionContext,
): Promise<RequestOutcome> {
  const [head] = await app.git.revParse(["HEAD"]);
  const [entry] = selectServices(
    (await app.agent.services(head)).filter((service) =>
      runsOnHost(service, app.host)
    ),
    [options.service],
  );
  const running = await app.agent.runningRevision(entry, head);
  if (!running) {
    throw new UsageError(
      `${entry.name} has nothing to check: it was never deployed or its hook file is invalid`,
    );
  }
  if (!running.config.healthCommands?.length) {
    throw new UsageError(`${entry.name} has no health_commands to run`);
  }
  const outcome = await checkHealth({
    service: entry.name,
    cwd: resolve(app.repoRoot, entry.dir),
    config: running.config,
    env: {
      UPSTREAM_WATCH_SERVICE: entry.name,
      UPSTREAM_WATCH_COMMIT: running.commit,
      UPSTREAM_WATCH_REPO: app.repoRoot,
      UPSTREAM_WATCH_TRIGGER: "manual",
    },
    commandTimeoutMs:
      (running.config.timeout ?? app.agent.config.commandTimeout) *
      1000,
    withheldEnv: configEnvReferences(app.agent.config),
    runner: app.runner,
    logger: app.logger,
    now: Date.now,
    signal: context.signal,
  });
  context.health.onCheck(entry.name, outcome, running.commit);
  const at = `at ${shortCommit(running.commit)}${
    running.kind === "held" ? " (the revision it runs; HEAD's is held)" : ""
  }`;
  if (outcome.kind === "passed") {
    return {
      exitCode: ExitCode.ok,
      lines: [`${entry.name}: healthy ${at}`],
      runIds: [],
    };
  }
  if (outcome.kind === "interrupted") {
    return {
      exitCode: ExitCode.updateFailed,
      lines: [`${entry.name}: check interrupted`],
      runIds: [],
    };
  }
  const lines = [`${entry.name}: unhealthy ${at}: ${outcome.message}`];
  const suspension = suspensionOf(suspensions(app.store), entry.name);
  if (suspension) {
    lines.push(`${entry.name}: not healed: ${describeSuspension(suspension)}`);
    return { exitCode: ExitCode.updateFailed, lines, runIds: [] };
  }
  const summary = await app.agent.heal(entry, {
    head,
    error: outcome.message,
    signal: context.signal,
  });
  if (!summary) {
    lines.push(`${entry.name}: not healed: a run of it is in progress`);
    return { exitCode: ExitCode.updateFailed, lines, runIds: [] };
  }
  context.health.onHeal(summary);
  lines.push(runLine(summary));
  return runOutcome(summary, lines);
}

/** The outcome of an action that ran one run: its exit code, lines and run id. */
function runOutcome(summary: RunSummary, lines: string[]): RequestOutcome {
  return {
    exitCode: summary.outcome === "succeeded"
      ? ExitCode.ok
      : ExitCode.updateFailed,
    lines,
    runIds: [summary.runId],
  };
}

/** One run as the commands print it: `web: succeeded (run 12)`. */
function runLine(run: RunSummary): string {
  return `${run.service}: ${run.outcome} (run ${run.runId})${
    run.error ? `: ${run.error}` : ""
  }`;
}

/** `deploy` of a suspended service is a usage error (exit 2) unless `--force`. */
async function refuseSuspended(
  app: App,
  names: readonly string[] | "all",
): Promise<void> {
  const all = suspensions(app.store);
  if (all.size === 0) return;
  const selected = names === "all" ? await app.agent.serviceNames() : names;
  const blocked = selected.flatMap((name) => {
    const suspension = suspensionOf(all, name);
    return suspension ? [`${name} is ${describeSuspension(suspension)}`] : [];
  });
  if (blocked.length > 0) {
    throw new UsageError(
      `${blocked.join("; ")}; resume it first or deploy with --force`,
    );
  }
}
