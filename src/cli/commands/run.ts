import { configEnvReferences } from "../../config/env_references.ts";
import { type App, attachCommitStatus } from "../../app.ts";
import { expandEnv } from "../../config/load.ts";
import type { WebhookConfig } from "../../config/types.ts";
import { ConfigError, ExitCode } from "../../errors.ts";
import { BodyBuffers } from "../../http/body_buffers.ts";
import { createHandler } from "../../http/handler.ts";
import {
  RateLimiter,
  READ_BURST,
  READ_REFILL_PER_SECOND,
  Slots,
} from "../../http/read_access.ts";
import {
  DEFAULT_SERVER_LIMITS,
  type HttpServer,
  type ServerLimits,
  startHttpServer,
} from "../../http/server.ts";
import { StatusModel } from "../../http/status_model.ts";
import { AgentTelemetry } from "../../http/telemetry.ts";
import {
  MAX_WEBHOOK_BODY_BYTES,
  type WebhookSettings,
} from "../../http/webhook.ts";
import { getLogger } from "@logtape/logtape";
import { createNotifier, type Notifier } from "../../notify/notifier.ts";
import { DenoProcessRunner } from "../../process/run_process.ts";
import { Agent } from "../../reconcile/agent.ts";
import {
  type CycleObserver,
  CycleRequests,
  runDaemon,
  runObservedCycle,
} from "../../reconcile/daemon.ts";
import { VERSION } from "../../version.ts";
import { recordHealthCheck } from "../../reconcile/health_incidents.ts";
import { SelfHealer } from "../../reconcile/self_heal.ts";
import { rollbacks } from "../../state/rollbacks.ts";
import { suspensions } from "../../state/suspensions.ts";
import { listenForShutdown } from "../signals.ts";
import { statusDocument } from "../../report/status_document.ts";

/** How long queued notifications may still be delivered when the agent exits. */
export const NOTIFY_FLUSH_MS = 5_000;
/** How long requests in flight may finish when the HTTP server stops. */
const SERVER_SHUTDOWN_MS = 2_000;
/** Commit subjects remembered for the status page (commits never change). */
const SUBJECT_CACHE_SIZE = 1000;
/** Webhook bodies read at once before their request is authenticated (at most 1 MiB each). */
const UNAUTHENTICATED_BODY_READS = 8;

/**
 * The notifier of `run` and `deploy`, built from the app's configuration.
 * `followConfig`: targets follow `notify:` as the repository configuration is
 * reloaded (the daemon); otherwise they stay as loaded.
 */
export function appNotifier(
  app: App,
  options: { followConfig: boolean },
): ReturnType<typeof createNotifier> {
  return createNotifier({
    file: app.configFile,
    targets: app.config.notify,
    store: app.store,
    logger: app.logger,
    host: app.host,
    configuredTargets: options.followConfig
      ? () => app.agent.config.notify
      : undefined,
  });
}

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
    options.interval ?? app.agent.config.retryInterval;
  const telemetry = new AgentTelemetry({
    store: app.store,
    suspensions: () => suspensions(app.store),
    now: Date.now,
    intervalSeconds,
  });
  const requests = new CycleRequests();
  let webhookInEffect = JSON.stringify(app.agent.config.webhook ?? null);
  const reloads: CycleObserver = {
    cycleFinished: () => {
      const configured = JSON.stringify(app.agent.config.webhook ?? null);
      if (configured !== webhookInEffect) {
        webhookInEffect = configured;
        app.logger.warn(
          "webhook settings changed in the repository; restart upstream-watch to apply them",
        );
      }
    },
  };
  let server: HttpServer | undefined;
  const observers: CycleObserver[] = [telemetry, reloads, options.notifier];
  if (app.agent.config.webhook) {
    const planner = statusPlanner(app);
    const status = new StatusModel({
      build: () => statusDocument(app, { planner }),
      subject: subjectLookup(app),
      stateStamp: () => app.store.changeStamp(),
      logger: app.logger,
    });
    observers.push(status);
    server = await startHttpServer(
      createHandler({
        webhook: options.webhook,
        requestCycle: () => requests.request(),
        statusDocument: () => status.document(),
        store: app.store,
        commitSubject: (commit) => status.subject(commit),
        telemetry,
        logger: app.logger,
        version: VERSION,
        now: Date.now,
        readToken: readToken(app),
        readLimiter: new RateLimiter({
          burst: READ_BURST,
          refillPerSecond: READ_REFILL_PER_SECOND,
          now: Date.now,
        }),
      }),
      {
        listen: app.agent.config.webhook.listen,
        logger: app.logger,
        configFile: app.configFile,
        limits: serverLimits(app.agent.config.webhook),
      },
    );
    app.logger.info(
      "listening on {url}: POST /webhook, GET / (status page), /healthz, /metrics, /api/status",
      { url: server.url },
    );
    if (!options.webhook?.secret) {
      app.logger.warn(
        "webhook.insecure is set: POST /webhook accepts requests without a signature",
      );
    }
  }
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
  // The loop also ends when the daemon does not stop by signal (a lost state file).
  const daemonEnded = new AbortController();
  const healing = healer.run(
    AbortSignal.any([options.stop, daemonEnded.signal]),
    options.kill,
  );
  try {
    await runDaemon(app.agent, {
      intervalSeconds: options.interval,
      stop: options.stop,
      kill: options.kill,
      logger: app.logger,
      requests,
      observers,
    });
  } finally {
    daemonEnded.abort();
    await healing;
    await server?.shutdown(SERVER_SHUTDOWN_MS);
  }
  app.logger.info("stopped");
}

/** The self-heal loop of the daemon: checks feed metrics, the stored health and notifications. */
function selfHealer(
  app: App,
  options: { telemetry: AgentTelemetry; notifier: Notifier },
): SelfHealer {
  return new SelfHealer({
    agent: app.agent,
    state: () => ({
      state: app.store.services(),
      suspensions: suspensions(app.store),
      rollbacks: rollbacks(app.store),
    }),
    runner: new DenoProcessRunner(),
    withheldEnv: () => configEnvReferences(app.agent.config),
    logger: app.logger,
    now: Date.now,
    repoRoot: app.repoRoot,
    onCheck: (service, outcome, commit) => {
      if (outcome.kind === "interrupted") return;
      options.telemetry.safety.healthChecked(service, outcome.kind);
      const event = recordHealthCheck(app.store, { service, outcome, commit }, {
        host: app.host,
        now: Date.now,
      });
      if (event) options.notifier.send(event);
    },
    onHeal: (summary) => {
      const run = app.store.run(summary.runId);
      if (run) {
        options.telemetry.safety.runFinished({
          ...run,
          outcome: summary.outcome,
        });
        options.notifier.runsFinished({
          trigger: "heal",
          sync: {
            before: run.toCommit,
            after: run.toCommit,
            upstream: run.toCommit,
          },
          runs: [summary],
          removed: [],
          failed: summary.outcome === "failed",
        });
      }
    },
  });
}

/** The webhook's secret with `${VAR}` expanded; undefined when the endpoint is off. */
function webhookSettings(app: App): WebhookSettings | undefined {
  const config: WebhookConfig | undefined = app.config.webhook;
  if (!config) return undefined;
  const location = { file: app.configFile, key: "webhook.secret" };
  let secret: string | undefined;
  if (config.secret !== undefined) {
    secret = expandEnv(config.secret, (name) => Deno.env.get(name), location);
    if (secret === "") {
      throw new ConfigError("webhook.secret is empty", location);
    }
  }
  return {
    secret,
    branch: app.branch,
    bodyReads: new Slots(UNAUTHENTICATED_BODY_READS),
    bodyBuffers: new BodyBuffers(MAX_WEBHOOK_BODY_BYTES + 1),
  };
}

/** `webhook.read_token` with `${VAR}` expanded; undefined leaves the read-only endpoints open. */
function readToken(app: App): string | undefined {
  const token = app.config.webhook?.readToken;
  if (token === undefined) return undefined;
  const location = { file: app.configFile, key: "webhook.read_token" };
  const expanded = expandEnv(token, (name) => Deno.env.get(name), location);
  if (expanded === "") {
    throw new ConfigError("webhook.read_token is empty", location);
  }
  return expanded;
}

/** The configured limits over the defaults. */
function serverLimits(config: WebhookConfig): ServerLimits {
  const ms = (seconds: number | undefined, fallback: number) =>
    seconds === undefined ? fallback : Math.round(seconds * 1000);
  const defaults = DEFAULT_SERVER_LIMITS;
  return {
    ...defaults,
    maxConnections: config.maxConnections ?? defaults.maxConnections,
    headerTimeoutMs: ms(config.headerTimeout, defaults.headerTimeoutMs),
    bodyTimeoutMs: ms(config.bodyTimeout, defaults.bodyTimeoutMs),
    idleTimeoutMs: ms(config.idleTimeout, defaults.idleTimeoutMs),
  };
}

/**
 * A separate agent for status requests: planning touches the agent's
 * per-commit caches, which must not change under a running cycle. It never
 * moves the work tree, fetches or reloads the configuration.
 */
function statusPlanner(app: App): Agent {
  return new Agent({
    git: app.git,
    store: app.store,
    runner: new DenoProcessRunner(),
    // A category outside the agent's: hook file warnings were logged by the cycle, a page view must not repeat them.
    logger: getLogger(["upstream-watch-status-planner"]),
    now: Date.now,
    repoRoot: app.repoRoot,
    gitDir: app.gitDir,
    configPath: app.configPath,
    configDisplay: app.configFile,
    configFromGit: app.configFromGit,
    config: app.agent.config,
    host: app.host,
    remote: app.remote,
    branch: app.branch,
  });
}

/** Commit subjects for the status page, cached (a missing commit reads as ""). */
function subjectLookup(app: App): (commit: string) => Promise<string> {
  const cache = new Map<string, string>();
  return async (commit) => {
    const cached = cache.get(commit);
    if (cached !== undefined) return cached;
    let subject = "";
    try {
      subject = await app.git.subject(commit);
    } catch {
      // A deployed commit may be gone after a history rewrite.
    }
    if (cache.size >= SUBJECT_CACHE_SIZE) cache.clear();
    cache.set(commit, subject);
    return subject;
  };
}
