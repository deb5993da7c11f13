/**
 * The operator actions over HTTP (docs/webhooks.md#operator-actions):
 * `POST /api/services/{name}/deploy|rollback|check|suspend|resume` and
 * `GET /api/requests/{id}`, only with `Authorization: Bearer <admin_token>`.
 * A browser cannot be made to send that header across sites, and the content
 * types an HTML form can post are refused, so no form on another site can act.
 * @module
 */
import type {
  OperatorAction,
  OperatorRequest,
  RequestOptions,
} from "../state/operator_requests.ts";
import { sameSecret } from "./constant_time.ts";

/** Actions that go through the daemon's requests; `suspend` and `resume` only write the state. */
const REQUEST_ACTIONS: readonly string[] = ["deploy", "rollback", "check"];
/** Largest request body accepted (a few options as JSON). */
const MAX_BODY_BYTES = 4096;
/** How long a request waits for its outcome before it answers 202 (the request goes on). */
export const DEFAULT_WAIT_MS = 25_000;

/** What the operator API works with; built by the daemon's HTTP endpoint. */
export interface OperatorApi {
  adminToken: string;
  /** Records a request for the daemon; returns its id. */
  submit(
    request: {
      action: OperatorAction;
      services: string[];
      options: RequestOptions;
    },
  ): number;
  /** The request once it is done or `timeoutMs` passed. */
  settled(id: number, timeoutMs: number): Promise<OperatorRequest>;
  request(id: number): OperatorRequest | undefined;
  /** This host's service names (unknown names answer 404). */
  serviceNames(): Promise<string[]>;
  suspend(service: string, reason: string | undefined): string;
  resume(service: string): string;
  /** `public_url`, for absolute links to runs. */
  publicUrl(): string | undefined;
  waitMs?: number;
}

/** True when the request carries the admin token as `Authorization: Bearer` (never Basic: browsers replay that by themselves). */
export function presentsAdminToken(headers: Headers, token: string): boolean {
  const bearer = /^Bearer\s+(\S+)$/i.exec(
    headers.get("authorization")?.trim() ?? "",
  );
  return bearer !== null && sameSecret(bearer[1], token);
}

/** Answers the operator paths; undefined for any other path. */
export async function operatorRoute(
  request: Request,
  api: OperatorApi | undefined,
): Promise<Response | undefined> {
  const url = new URL(request.url);
  const action = /^\/api\/services\/([^/]{1,200})\/([a-z]{1,20})$/.exec(
    url.pathname,
  );
  const lookup = /^\/api\/requests\/(\d{1,15})$/.exec(url.pathname);
  if (!action && !lookup) return undefined;
  if (!api) {
    await request.body?.cancel();
    return json(404, {
      error: "operator actions are off: set webhook.admin_token to use them",
    });
  }
  const refused = await refuse(request, url, api, action ? "POST" : "GET");
  if (refused) return refused;
  if (lookup) {
    const found = api.request(Number(lookup[1]));
    return found
      ? json(found.state === "done" ? 200 : 202, requestJson(found, api))
      : json(404, { error: `there is no request ${lookup[1]}` });
  }
  const [, encoded, verb] = action!;
  let service: string;
  try {
    service = decodeURIComponent(encoded);
  } catch {
    return json(400, {
      error: "the service name is not valid percent-encoding",
    });
  }
  const body = await options(request);
  if ("error" in body) return json(400, body);
  if (!(await api.serviceNames()).includes(service)) {
    return json(404, { error: `unknown service ${service}` });
  }
  switch (verb) {
    case "suspend":
      return json(200, { message: api.suspend(service, body.reason) });
    case "resume":
      return json(200, { message: api.resume(service) });
  }
  if (!REQUEST_ACTIONS.includes(verb)) {
    return json(404, {
      error:
        `unknown action ${verb}; use deploy, rollback, check, suspend or resume`,
    });
  }
  const id = api.submit({
    action: verb as OperatorAction,
    services: [service],
    options: {
      ...(body.force ? { force: true } : {}),
      ...(body.to !== undefined ? { to: body.to } : {}),
    },
  });
  const asynchronous = body.wait === false ||
    /\brespond-async\b/i.test(request.headers.get("prefer") ?? "");
  const settled = asynchronous
    ? api.request(id)!
    : await api.settled(id, api.waitMs ?? DEFAULT_WAIT_MS);
  return requestResponse(settled, api);
}

/** 405, 415, 400 or 401 before anything is read or done. */
async function refuse(
  request: Request,
  url: URL,
  api: OperatorApi,
  method: "GET" | "POST",
): Promise<Response | undefined> {
  const sent = request.method === "HEAD" ? "GET" : request.method;
  if (sent !== method) {
    await request.body?.cancel();
    return new Response("method not allowed\n", {
      status: 405,
      headers: { "Content-Type": "text/plain; charset=utf-8", Allow: method },
    });
  }
  if ([...url.searchParams.keys()].some((key) => /token|auth|key/i.test(key))) {
    await request.body?.cancel();
    return json(400, {
      error:
        "the admin token is never accepted in the query string (it would end up in logs); send Authorization: Bearer <token>",
    });
  }
  const type = (request.headers.get("content-type") ?? "").split(";")[0]
    .trim().toLowerCase();
  if (method === "POST" && type !== "" && type !== "application/json") {
    // What an HTML form on any site can post: never acted upon.
    await request.body?.cancel();
    return json(415, {
      error: "send no body or an application/json one",
    });
  }
  if (!presentsAdminToken(request.headers, api.adminToken)) {
    await request.body?.cancel();
    return new Response(
      JSON.stringify({ error: "this action requires the admin token" }) + "\n",
      {
        status: 401,
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "WWW-Authenticate": 'Bearer realm="upstream-watch"',
        },
      },
    );
  }
  return undefined;
}

/** The JSON options of an action: `force`, `to`, `reason`, `wait`. */
async function options(
  request: Request,
): Promise<
  { force?: boolean; to?: string; reason?: string; wait?: boolean } | {
    error: string;
  }
> {
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) {
    await request.body?.cancel();
    return { error: `the body is over ${MAX_BODY_BYTES} bytes` };
  }
  const text = length === 0 ? "" : await request.text();
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: "the body is not JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: "the body must be a JSON object" };
  }
  const record = value as Record<string, unknown>;
  for (const [key, type] of Object.entries(OPTION_TYPES)) {
    if (record[key] !== undefined && typeof record[key] !== type) {
      return { error: `"${key}" must be a ${type}` };
    }
  }
  const unknown = Object.keys(record).filter((key) => !(key in OPTION_TYPES));
  if (unknown.length > 0) {
    return { error: `unknown option ${unknown.join(", ")}` };
  }
  return record as { force?: boolean; to?: string; reason?: string };
}

const OPTION_TYPES: Record<string, string> = {
  force: "boolean",
  to: "string",
  reason: "string",
  wait: "boolean",
};

/** 200 when the action succeeded, 422 when it ran and failed, 400/409 when refused, 202 while it runs. */
function requestResponse(request: OperatorRequest, api: OperatorApi): Response {
  const body = requestJson(request, api);
  if (request.state !== "done" || !request.outcome) {
    return json(202, body, { Location: body.requestUrl });
  }
  const status = STATUS_BY_EXIT[request.outcome.exitCode] ?? 500;
  return json(status, body);
}

/** HTTP status per exit code: 1 ran and failed, 2 refused, 4 the daemon stopped first. */
const STATUS_BY_EXIT: Record<number, number> = {
  0: 200,
  1: 422,
  2: 409,
  4: 503,
};

/** A request as the API shows it. */
function requestJson(request: OperatorRequest, api: OperatorApi) {
  const base = api.publicUrl() ?? "";
  const outcome = request.outcome;
  return {
    id: request.id,
    action: request.action,
    service: request.services[0] ?? null,
    state: request.state,
    requestedAt: new Date(request.requestedAt).toISOString(),
    finishedAt: request.finishedAt === null
      ? null
      : new Date(request.finishedAt).toISOString(),
    exitCode: outcome?.exitCode ?? null,
    output: outcome?.lines ?? [],
    error: outcome?.error ?? null,
    runs: (outcome?.runIds ?? []).map((id) => ({
      id,
      url: `${base}/runs/${id}`,
    })),
    requestUrl: `${base}/api/requests/${request.id}`,
  };
}

function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      ...headers,
    },
  });
}
