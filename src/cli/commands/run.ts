import type { App } from "../../app/compose.ts";
import { attachCommitStatus } from "../../app/commit_status.ts";
import { agentTelemetry, webhookSettings } from "../../app/http_settings.ts";
import { appNotifier, NOTIFY_FLUSH_MS } from "../../app/notifier.ts";
import { healthReporting, selfHealer } from "../../app/self_healer.ts";
import { OperatorDesk } from "../../app/operator_desk.ts";
import { OneAtATime } from "../../reconcile/one_at_a_time.ts";
import { recordDaemon } from "../../state/daemon_record.ts";
import type { WebhookSettings } from "../../http/webhook.ts";
import { ExitCode } from "../../errors.ts";
import type { Notifier } from "../../notify/notifier.ts";
import {
  CycleRequests,
  runDaemon,
  runObservedCycle,
} from "../../reconcile/daemon.ts";
import type { CycleObserver } from "../../results/cycle_result.ts";
import { listenForShutdown } from "../signals.ts";

/** How long requests in flight may finish when the HTTP server stops. */
const SERVER_SHUTDOWN_MS = 2_000;

/** `run [--once] [--interval S]`: the poll loop, or one cycle. */
export async function runCommand(
  app: App,
  options: { once: boolean; interval?: number },
): Promise<number> {
  // Both resolve `${VAR}` references first: a missing variable is exit 2 before anything runs.
  const { notifier, queue } = appNotifier(app, { followConfig: true });
  const webhook = options.once ? undefined : webhookSettings(app);
  const statuses = await attachCommitStatus(app);
  using shutdown = listenForShutdown(app.logger);
  try {
    if (options.once) {
      const report = await runObservedCycle(app.agent, {
        trigger: "poll",
        stop: shutdown.stop,
        kill: shutdown.kill,
        observers: [notifier],
        logger: app.logger,
      });
      if (report.kind === "sync_failed") throw report.error;
      return report.result.failed ? ExitCode.updateFailed : ExitCode.ok;
    }
    await runWatching(app, {
      interval: options.interval,
      webhook,
      notifier,
      stop: shutdown.stop,
      kill: shutdown.kill,
    });
    return ExitCode.ok;
  } finally {
    await Promise.all([
      queue.close(NOTIFY_FLUSH_MS),
      statuses.close(NOTIFY_FLUSH_MS),
    ]);
  }
}

async function runWatching(
  app: App,
  options: {
    interval?: number;
    webhook?: WebhookSettings;
    notifier: Notifier;
    stop: AbortSignal;
    kill: AbortSignal;
  },
): Promise<void> {
  const intervalSeconds = () =>
    options.interval ?? app.config.current.retryInterval;
  const telemetry = agentTelemetry(app, intervalSeconds);
  const requests = new CycleRequests();
  let webhookInEffect = JSON.stringify(app.config.current.webhook ?? null);
  const reloads: CycleObserver = {
    cycleFinished: () => {
      const configured = JSON.stringify(app.config.current.webhook ?? null);
      if (configured !== webhookInEffect) {
        webhookInEffect = configured;
        app.logger.warn(
          "webhook settings changed in the repository; restart upstream-watch to apply them",
        );
      }
    },
  };
  const observers: CycleObserver[] = [telemetry, reloads, options.notifier];
  const turns = new OneAtATime();
  const health = healthReporting(app, {
    telemetry,
    notifier: options.notifier,
  });
  const desk = new OperatorDesk(app, {
    context: { notifier: options.notifier, health },
    turns,
  });
  // The server, its handler and the status page load only when they serve.
  const endpoint = app.config.current.webhook
    ? await (await import("../../app/http_endpoint.ts")).startHttpEndpoint(
      app,
      { webhook: options.webhook, requests, telemetry, desk },
    )
    : undefined;
  if (endpoint) observers.push(endpoint.status);
  app.logger.info(
    "watching {remote}/{branch} in {repo} every {interval} s as host {host}",
    {
      remote: app.remote,
      branch: app.branch,
      repo: app.repoRoot,
      interval: intervalSeconds(),
      host: app.host,
    },
  );
  const healer = selfHealer(app, { telemetry, notifier: options.notifier });
  // The loops also end when the daemon does not stop by signal (a lost state file).
  const daemonEnded = new AbortController();
  const ended = AbortSignal.any([options.stop, daemonEnded.signal]);
  const healing = healer.run(ended, options.kill);
  const record = { ...app.settings, pid: Deno.pid, startedAt: Date.now() };
  recordDaemon(app.store, { ...record, running: true });
  const serving = desk.run(ended, options.kill);
  try {
    await runDaemon(app.agent, {
      intervalSeconds: options.interval,
      stop: options.stop,
      kill: options.kill,
      logger: app.logger,
      requests,
      observers,
      state: app.store,
      turns,
      memory: app.memory,
    });
  } finally {
    daemonEnded.abort();
    await Promise.all([healing, serving]);
    await endpoint?.server.shutdown(SERVER_SHUTDOWN_MS);
    try {
      recordDaemon(app.store, { ...record, running: false });
    } catch {
      // A lost state file: nothing to record the stop in.
    }
  }
  app.logger.info("stopped");
}
