/** The daemon's HTTP endpoint: the status model and the server, built from the app (imported only when `webhook:` is set). */
import type { App } from "../app.ts";
import { webhookSecret } from "../config/secret_file.ts";
import type { WebhookConfig } from "../config/types.ts";
import { createHandler } from "../http/handler.ts";
import {
  RateLimiter,
  READ_BURST,
  READ_REFILL_PER_SECOND,
} from "../http/read_access.ts";
import {
  DEFAULT_SERVER_LIMITS,
  type HttpServer,
  type ServerLimits,
  startHttpServer,
} from "../http/server.ts";
import { StatusModel } from "../http/status_model.ts";
import type { AgentTelemetry } from "../http/telemetry.ts";
import type { WebhookSettings } from "../http/webhook.ts";
import type { CycleRequests } from "../reconcile/daemon.ts";
import { statusDocument } from "../report/status_document.ts";
import { VERSION } from "../version.ts";
import { statusPlanner } from "./status_planner.ts";

/** Commit subjects remembered for the status page (commits never change). */
const SUBJECT_CACHE_SIZE = 1000;

/** The running endpoint and the status model the daemon's cycles keep current. */
export interface HttpEndpoint {
  server: HttpServer;
  status: StatusModel;
}

/** Starts the endpoint when `webhook:` is configured; undefined otherwise. */
export async function startHttpEndpoint(
  app: App,
  options: {
    webhook?: WebhookSettings;
    requests: CycleRequests;
    telemetry: AgentTelemetry;
  },
): Promise<HttpEndpoint | undefined> {
  const config = app.agent.config.webhook;
  if (!config) return undefined;
  const planner = statusPlanner(app);
  const status = new StatusModel({
    build: () => statusDocument(app, { planner }),
    subject: subjectLookup(app),
    stateStamp: () => app.store.changeStamp(),
    logger: app.logger,
  });
  const server = await startHttpServer(
    createHandler({
      webhook: options.webhook,
      requestCycle: () => options.requests.request(),
      statusDocument: () => status.document(),
      store: app.store,
      commitSubject: (commit) => status.subject(commit),
      telemetry: options.telemetry,
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
      listen: config.listen,
      logger: app.logger,
      configFile: app.configFile,
      limits: serverLimits(config),
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
  return { server, status };
}

/** `webhook.read_token` with `${VAR}` expanded; undefined leaves the read-only endpoints open. */
function readToken(app: App): string | undefined {
  return webhookSecret(app.config.webhook, "read_token", {
    env: (name) => Deno.env.get(name),
    file: app.configFile,
  });
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
