/** The daemon's HTTP endpoint: the status model and the server, built from the app (imported only when `webhook:` is set). */
import type { App } from "./compose.ts";
import { expandEnv } from "../config/expand_env.ts";
import { webhookSecret } from "../config/secret_file.ts";
import { ConfigError } from "../errors.ts";
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
import type { OperatorDesk } from "./operator_desk.ts";
import type { OperatorApi } from "../http/operator_api.ts";
import { operatorRequest } from "../state/operator_requests.ts";
import {
  ALL_SERVICES,
  describeSuspension,
  resume,
  suspend,
  suspensions,
} from "../state/suspensions.ts";

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
    /** Carries out the operator's requests of `POST /api/services/…`. */
    desk?: OperatorDesk;
  },
): Promise<HttpEndpoint | undefined> {
  const config = app.config.current.webhook;
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
      operator: options.desk ? operatorApi(app, options.desk) : undefined,
      readLimiter: new RateLimiter({
        burst: READ_BURST,
        refillPerSecond: READ_REFILL_PER_SECOND,
        now: Date.now,
      }),
    }),
    {
      listen: config.listen,
      logger: app.logger,
      configFile: app.config.file,
      limits: serverLimits(config),
    },
  );
  app.logger.info(
    "listening on {url}: POST /webhook, GET / (status page), /healthz, /metrics, /api/status{operator}",
    {
      url: server.url,
      operator: app.config.current.webhook?.adminToken
        ? ", POST /api/services/{name}/{action}"
        : "",
    },
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
  return webhookSecret(app.config.current.webhook, "read_token", {
    env: (name) => Deno.env.get(name),
    file: app.config.file,
  });
}

/** A token of `webhook:` with `${VAR}` expanded; an empty one is a configuration error. */
function expandedToken(
  app: App,
  token: string | undefined,
  key: string,
): string | undefined {
  if (token === undefined) return undefined;
  const location = { file: app.config.file, key: `webhook.${key}` };
  const expanded = expandEnv(token, (name) => Deno.env.get(name), location);
  if (expanded === "") {
    throw new ConfigError(`webhook.${key} is empty`, location);
  }
  return expanded;
}

/** The operator actions over HTTP, when `webhook.admin_token` is set (docs/webhooks.md#operator-actions). */
function operatorApi(app: App, desk: OperatorDesk): OperatorApi | undefined {
  const adminToken = expandedToken(
    app,
    app.config.current.webhook?.adminToken,
    "admin_token",
  );
  if (adminToken === undefined) return undefined;
  if (adminToken === readToken(app)) {
    throw new ConfigError(
      "webhook.admin_token must differ from webhook.read_token",
      { file: app.config.file, key: "webhook.admin_token" },
    );
  }
  return {
    adminToken,
    submit: (request) => desk.submit(request),
    settled: (id, timeoutMs) => desk.settled(id, timeoutMs),
    request: (id) => operatorRequest(app.store, id),
    serviceNames: () => app.agent.serviceNames(),
    suspend: (service, reason) => {
      suspend(app.store, [service], { reason, now: Date.now() });
      app.logger.info("suspended over HTTP", { service });
      return `suspended ${service}${reason ? ` (${reason})` : ""}`;
    },
    resume: (service) => {
      const lifted = resume(app.store, [service]);
      app.logger.info("resumed over HTTP", { service });
      const still = suspensions(app.store).get(ALL_SERVICES);
      return (lifted.length === 0
        ? `${service} was not suspended`
        : `resumed ${service}`) +
        (still
          ? `; the whole agent is still ${describeSuspension(still)}`
          : "");
    },
    publicUrl: () => app.agent.config.publicUrl,
  };
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
