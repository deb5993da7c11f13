/**
 * `deploy`, `rollback` and `check`: carried out by this process when no daemon
 * runs, else handed to the running daemon, which carries them out and records
 * the outcome this process waits for (docs/design.md#operator-requests).
 * @module
 */
import type { App } from "../../app.ts";
import { attachCommitStatus } from "../../app/commit_status.ts";
import { appNotifier, NOTIFY_FLUSH_MS } from "../../app/notifier.ts";
import {
  checkAction,
  deployAction,
  rollbackAction,
} from "../../app/operator_actions.ts";
import { healthReporting } from "../../app/self_healer.ts";
import {
  ExitCode,
  type ExitCodeValue,
  UpstreamWatchError,
} from "../../errors.ts";
import { escapeControl } from "../../log/escape.ts";
import {
  type OperatorAction,
  operatorRequest,
  type RequestOptions,
  type RequestOutcome,
  submitRequest,
} from "../../state/operator_requests.ts";
import { lockIsHeld } from "../../state/instance_lock.ts";
import type { Output } from "../output.ts";
import { listenForShutdown } from "../signals.ts";

/** One operator command as given on the command line. */
export interface OperatorCall {
  action: OperatorAction;
  /** Empty for `deploy --all`. */
  services: string[];
  options: RequestOptions;
}

/** How often a waiting command looks at its request (ms). */
const POLL_MS = 100;
/** How often it makes sure the daemon still runs (ms). */
const ALIVE_MS = 1_000;

/** Carries out `call` in this process (no daemon runs). */
export async function runHere(
  app: App,
  call: OperatorCall,
  output: Output,
): Promise<number> {
  const { notifier, queue } = appNotifier(app, { followConfig: false });
  const statuses = await attachCommitStatus(app);
  using shutdown = listenForShutdown(app.logger);
  const context = {
    notifier,
    health: healthReporting(app, { notifier }),
    stop: shutdown.stop,
    signal: shutdown.kill,
  };
  let outcome: RequestOutcome;
  try {
    const [service] = call.services;
    outcome = call.action === "deploy"
      ? await deployAction(app, {
        services: call.services.length === 0 ? "all" : call.services,
        force: call.options.force ?? false,
      }, context)
      : call.action === "rollback"
      ? await rollbackAction(app, { service, to: call.options.to }, context)
      : await checkAction(app, { service }, context);
  } finally {
    await Promise.all([
      queue.close(NOTIFY_FLUSH_MS),
      statuses.close(NOTIFY_FLUSH_MS),
    ]);
  }
  return printOutcome(outcome, output);
}

/** Hands `call` to the daemon (pid `daemonPid`) and, unless `wait` is false, waits for its outcome. */
export async function handToDaemon(
  app: App,
  call: OperatorCall,
  options: { wait: boolean; daemonPid: number },
  output: Output,
): Promise<number> {
  const id = submitRequest(app.store, {
    ...call,
    source: "cli",
    now: Date.now(),
  });
  if (!options.wait) {
    output.out(
      `request ${id} handed to the running daemon (pid ${options.daemonPid}); see "upstream-watch history" for its runs\n`,
    );
    return ExitCode.ok;
  }
  app.logger.info(
    "the daemon (pid {pid}) carries out this {action} as request {id}",
    { pid: options.daemonPid, action: call.action, id },
  );
  let aliveAt = Date.now();
  while (true) {
    const request = operatorRequest(app.store, id);
    if (request?.state === "done" && request.outcome) {
      return printOutcome(request.outcome, output);
    }
    if (Date.now() - aliveAt >= ALIVE_MS) {
      aliveAt = Date.now();
      if (!lockIsHeld(app.gitDir)) {
        throw new UpstreamWatchError(
          `the daemon stopped before finishing request ${id}; see "upstream-watch history"`,
          { exitCode: ExitCode.locked },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Prints what the action printed, and ends like it: its error is thrown with its exit code. */
function printOutcome(outcome: RequestOutcome, output: Output): number {
  for (const line of outcome.lines) output.out(escapeControl(line) + "\n");
  if (outcome.error !== undefined) {
    throw new UpstreamWatchError(outcome.error, {
      exitCode: outcome.exitCode as ExitCodeValue,
    });
  }
  return outcome.exitCode;
}
