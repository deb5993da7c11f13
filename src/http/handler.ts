/** The HTTP endpoint's request handler (docs/webhooks.md), apart from the server so tests need no socket. */
import type { StatusDocument } from "../report/documents.ts";
import type { Logger } from "../log/logging.ts";
import type { CycleRequestAnswer } from "./cycle_view.ts";
import { errorMessage, StateWriteError } from "../errors.ts";
import type { StateStore } from "../state/store.ts";
import { IncompleteBodyError, type RequestInfo } from "./connection.ts";
import { presentsReadToken, type RateLimiter } from "./read_access.ts";
import { deliveryId, RecentDeliveries } from "./recent_deliveries.ts";
import { renderMessagePage, renderRunPage } from "./run_page.ts";
import { renderStatusPage } from "./status_page.ts";
import { type AgentTelemetry, stateOutageReason } from "./telemetry.ts";
import { stateMetricsText } from "./state_metrics.ts";
import {
  type OperatorApi,
  operatorRoute,
  presentsAdminToken,
} from "./operator_api.ts";
import { verifyWebhook, type WebhookSettings } from "./webhook.ts";

/** Runs shown on the status page. */
export const RECENT_RUNS = 25;

/** What the handler works with; built by `run` from the real adapters. */
export interface HandlerDeps {
  /** Undefined: `POST /webhook` answers 404. */
  webhook?: WebhookSettings;
  /** Asks the daemon for a cycle now (coalesced). */
  requestCycle: () => CycleRequestAnswer;
  /** The `status --json` document. */
  statusDocument: () => Promise<StatusDocument>;
  store: Pick<StateStore, "runs" | "run" | "commands">;
  /** A commit's subject line ("" when unknown). */
  commitSubject: (commit: string) => Promise<string>;
  telemetry: Pick<
    AgentTelemetry,
    "health" | "metricsText" | "webhookReceived"
  >;
  logger: Logger;
  version: string;
  now: () => number;
  /** When set, every read-only endpoint but `/healthz` requires it. */
  readToken?: string;
  /** Limits read-only requests per client address (`/healthz` is exempt). */
  readLimiter?: Pick<RateLimiter, "take">;
  /** The operator actions; undefined (no `admin_token`) answers them 404. */
  operator?: OperatorApi;
}

/** A request handler; `info` says who sent the request (absent in tests without a socket). */
export type Handler = (
  request: Request,
  info?: RequestInfo,
) => Promise<Response>;

/** Routes `POST /webhook`, `GET /healthz`, `/metrics`, `/api/status`, `/` and `/runs/<id>`. */
export function createHandler(deps: HandlerDeps): Handler {
  const deliveries = new RecentDeliveries(deps.now);
  return async (request, info) => {
    try {
      return await route(request, { ...deps, deliveries }, info);
    } catch (error) {
      if (error instanceof IncompleteBodyError) {
        // The client went away or stalled: nothing is wrong with the agent.
        deps.logger.debug("HTTP {method} {path}: {error}", {
          method: request.method,
          path: new URL(request.url).pathname,
          error: error.message,
        });
        return error.reason === "timeout"
          ? text(408, "request body not received in time\n")
          : text(400, "request body incomplete\n");
      }
      if (error instanceof StateWriteError) {
        // Logged once by the daemon as the outage began; /healthz says the same.
        return text(503, `${stateOutageReason(error.message)}\n`);
      }
      deps.logger.error("HTTP {method} {path} failed: {error}", {
        method: request.method,
        path: new URL(request.url).pathname,
        error: errorMessage(error),
      });
      return text(500, "internal error; see the agent's log\n");
    }
  };
}

/** The handler's dependencies with what it keeps between requests. */
type RouteDeps = HandlerDeps & { deliveries: RecentDeliveries };

async function route(
  request: Request,
  deps: RouteDeps,
  info: RequestInfo | undefined,
): Promise<Response> {
  const { pathname } = new URL(request.url);
  const method = request.method === "HEAD" ? "GET" : request.method;
  const operated = await operatorRoute(request, deps.operator);
  if (operated) return operated;
  if (pathname === "/webhook") {
    if (method !== "POST") return notAllowed("POST");
    return await webhook(request, deps);
  }
  if (method !== "GET") {
    await request.body?.cancel();
    return notAllowed("GET, HEAD");
  }
  if (pathname === "/healthz") {
    const health = deps.telemetry.health();
    return text(health.healthy ? 200 : 503, `${health.reason}\n`);
  }
  const refused = refuseRead(request, deps, info);
  if (refused) return refused;
  switch (pathname) {
    case "/metrics":
      return new Response(
        deps.telemetry.metricsText() +
          stateMetricsText(await deps.statusDocument()),
        {
          headers: {
            "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
            "Cache-Control": "no-store",
          },
        },
      );
    case "/api/status":
      return json(200, await deps.statusDocument());
    case "/": {
      // Buttons only for a request that presented the admin token itself.
      const admin = deps.operator !== undefined &&
        presentsAdminToken(request.headers, deps.operator.adminToken);
      const nonce = admin ? crypto.randomUUID().replaceAll("-", "") : undefined;
      return htmlResponse(200, await statusPage(deps, nonce), nonce);
    }
  }
  const run = /^\/runs\/(\d{1,15})$/.exec(pathname);
  if (run) {
    const record = deps.store.run(Number(run[1]));
    if (!record) {
      return htmlResponse(
        404,
        renderMessagePage("Run not found", `There is no run #${run[1]}.`),
      );
    }
    return htmlResponse(
      200,
      renderRunPage(record, deps.store.commands(record.id), {
        now: deps.now(),
      }),
    );
  }
  return text(404, "not found\n");
}

async function webhook(request: Request, deps: RouteDeps): Promise<Response> {
  if (!deps.webhook) {
    await request.body?.cancel();
    return text(404, "webhook is not configured\n");
  }
  const verdict = await verifyWebhook(request, deps.webhook);
  const log = deps.logger;
  switch (verdict.kind) {
    case "rejected":
      deps.telemetry.webhookReceived(`rejected_${verdict.status}`);
      log.warn("webhook rejected ({status}): {reason}", {
        status: verdict.status,
        reason: verdict.reason,
      });
      return json(verdict.status, {
        status: "rejected",
        reason: verdict.reason,
      });
    case "ping":
      deps.telemetry.webhookReceived("ping");
      log.info("webhook ping from {provider}", { provider: verdict.provider });
      return json(200, { status: "ok", reason: "pong" });
    case "ignored":
      deps.telemetry.webhookReceived("ignored");
      log.debug("webhook ignored: {reason}", { reason: verdict.reason });
      return json(202, { status: "ignored", reason: verdict.reason });
    case "push": {
      // Only an authenticated push is remembered: nobody else can use up an id.
      const id = deliveryId(request.headers);
      if (id !== undefined && deps.deliveries.seenBefore(id)) {
        deps.telemetry.webhookReceived("duplicate");
        log.info(
          "webhook push from {provider} ignored: {id} was accepted before",
          {
            provider: verdict.provider,
            id,
          },
        );
        return json(200, {
          status: "duplicate",
          reason: `delivery ${id} was accepted before`,
        });
      }
      const cycle = deps.requestCycle();
      deps.telemetry.webhookReceived("accepted");
      log.info("webhook push from {provider}: cycle {cycle}", {
        provider: verdict.provider,
        cycle,
        ref: verdict.ref,
      });
      return json(202, { status: "accepted", cycle });
    }
  }
}

/** A 429 or 401 when the client is over its rate or lacks the read token. */
function refuseRead(
  request: Request,
  deps: HandlerDeps,
  info: RequestInfo | undefined,
): Response | undefined {
  const client = info?.remoteAddr.hostname ?? "unknown";
  const waitSeconds = deps.readLimiter?.take(client) ?? 0;
  if (waitSeconds > 0) {
    return new Response("too many requests\n", {
      status: 429,
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "Retry-After": String(waitSeconds),
      },
    });
  }
  if (
    deps.readToken !== undefined &&
    !presentsReadToken(request.headers, deps.readToken) &&
    // Whoever may act may read.
    !(deps.operator &&
      presentsAdminToken(request.headers, deps.operator.adminToken))
  ) {
    return new Response("this endpoint requires the read token\n", {
      status: 401,
      headers: {
        "Content-Type": "text/plain; charset=utf-8",
        "WWW-Authenticate": 'Basic realm="upstream-watch", charset="UTF-8"',
      },
    });
  }
  return undefined;
}

async function statusPage(
  deps: HandlerDeps,
  nonce: string | undefined,
): Promise<string> {
  const document = await deps.statusDocument();
  const subjects = new Map<string, string>();
  for (const service of document.services) {
    const commit = service.deployedCommit;
    if (commit && !subjects.has(commit)) {
      subjects.set(commit, await deps.commitSubject(commit));
    }
  }
  return renderStatusPage({
    document,
    subjects,
    recentRuns: deps.store.runs({ limit: RECENT_RUNS }),
    health: deps.telemetry.health(),
    version: deps.version,
    now: deps.now(),
    actions: nonce ? { nonce } : undefined,
  });
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
    },
  });
}

function htmlResponse(
  status: number,
  body: string,
  scriptNonce?: string,
): Response {
  // The only script is the operator's buttons', by nonce, talking to this origin.
  const script = scriptNonce
    ? `; script-src 'nonce-${scriptNonce}'; connect-src 'self'`
    : "";
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      // Everything is inline; nothing may load from elsewhere.
      "Content-Security-Policy":
        `default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'${script}`,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    },
  });
}

function notAllowed(allow: string): Response {
  return new Response("method not allowed\n", {
    status: 405,
    headers: { "Content-Type": "text/plain; charset=utf-8", Allow: allow },
  });
}
