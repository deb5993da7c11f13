/** `POST /webhook`: authenticating push events and deciding whether they concern our branch (SPEC §8). */

/** Largest request body accepted (SPEC §8). */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** How a webhook request authenticated itself. */
export type WebhookProvider = "github" | "gitea" | "gitlab" | "bearer" | "none";

/** What `POST /webhook` decided. */
export type WebhookVerdict =
  | { kind: "rejected"; status: 400 | 401 | 413; reason: string }
  | { kind: "ping"; provider: WebhookProvider }
  | { kind: "ignored"; provider: WebhookProvider; reason: string }
  | { kind: "push"; provider: WebhookProvider; ref?: string };

/** Settings of the webhook endpoint. */
export interface WebhookSettings {
  /** Expanded secret; undefined only with `insecure: true`. */
  secret?: string;
  /** The branch the agent follows. */
  branch: string;
}

const encoder = new TextEncoder();

/**
 * Authenticates a webhook request and classifies it. Token checks happen
 * before the body is read; the body is read at most up to the size limit.
 */
export async function verifyWebhook(
  request: Request,
  settings: WebhookSettings,
): Promise<WebhookVerdict> {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > MAX_WEBHOOK_BODY_BYTES) {
    await request.body?.cancel();
    return tooLarge();
  }
  const credentials = presentedCredentials(request.headers);
  const { secret } = settings;
  if (secret !== undefined) {
    if (credentials.kind === "none") {
      await request.body?.cancel();
      return unauthorized(
        "missing signature (X-Hub-Signature-256, X-Gitlab-Token or Authorization: Bearer)",
      );
    }
    if (
      credentials.kind === "token" &&
      !(await sameSecret(credentials.token, secret))
    ) {
      await request.body?.cancel();
      return unauthorized("invalid token");
    }
  }
  const body = await readLimited(request, MAX_WEBHOOK_BODY_BYTES);
  if (body === undefined) return tooLarge();
  if (secret !== undefined && credentials.kind === "hmac") {
    const expected = await hmacSha256(secret, body);
    if (!constantTimeEqual(expected, credentials.signature)) {
      return unauthorized("invalid signature");
    }
  }
  const provider = credentials.provider;
  const event = eventName(request.headers);
  if (event === "ping") return { kind: "ping", provider };
  let payload: unknown;
  try {
    payload = parsePayload(request.headers.get("content-type"), body);
  } catch (error) {
    return {
      kind: "rejected",
      status: 400,
      reason: `malformed body: ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
  if (event !== undefined && event !== "push") {
    return { kind: "ignored", provider, reason: `${event} events are ignored` };
  }
  const ref = isRecord(payload) && typeof payload.ref === "string"
    ? payload.ref
    : undefined;
  if (payload !== undefined && !isRecord(payload)) {
    return {
      kind: "rejected",
      status: 400,
      reason: "malformed body: expected a JSON object",
    };
  }
  const wanted = `refs/heads/${settings.branch}`;
  if (ref !== undefined && ref !== wanted) {
    return {
      kind: "ignored",
      provider,
      reason: `push to ${ref}; following ${wanted}`,
    };
  }
  // GitHub says `deleted: true`; GitLab and Gitea send an all-zero `after`.
  const after = isRecord(payload) ? payload.after : undefined;
  if (
    isRecord(payload) &&
    (payload.deleted === true ||
      (typeof after === "string" && /^0+$/.test(after)))
  ) {
    return { kind: "ignored", provider, reason: `${wanted} was deleted` };
  }
  return { kind: "push", provider, ref };
}

type Credentials =
  | { kind: "hmac"; provider: WebhookProvider; signature: Uint8Array }
  | { kind: "token"; provider: WebhookProvider; token: string }
  | { kind: "none"; provider: "none" };

function presentedCredentials(headers: Headers): Credentials {
  const hub = headers.get("x-hub-signature-256");
  if (hub !== null) {
    const match = /^sha256=([0-9a-fA-F]{64})$/.exec(hub.trim());
    const provider = headers.has("x-gitea-event") ||
        headers.has("x-forgejo-event")
      ? "gitea"
      : "github";
    // A malformed signature can never match: compare against nothing.
    return {
      kind: "hmac",
      provider,
      signature: match ? hexBytes(match[1]) : new Uint8Array(),
    };
  }
  // Older Gitea and Forgejo send the bare hex digest in their own header.
  const gitea = headers.get("x-gitea-signature") ??
    headers.get("x-forgejo-signature");
  if (gitea !== null) {
    const hex = gitea.trim();
    return {
      kind: "hmac",
      provider: "gitea",
      signature: /^[0-9a-fA-F]{64}$/.test(hex)
        ? hexBytes(hex)
        : new Uint8Array(),
    };
  }
  const gitlab = headers.get("x-gitlab-token");
  if (gitlab !== null) {
    return { kind: "token", provider: "gitlab", token: gitlab };
  }
  const authorization = headers.get("authorization");
  if (authorization !== null) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return { kind: "token", provider: "bearer", token: match ? match[1] : "" };
  }
  return { kind: "none", provider: "none" };
}

function eventName(headers: Headers): string | undefined {
  const github = headers.get("x-github-event") ??
    headers.get("x-gitea-event") ?? headers.get("x-forgejo-event") ??
    headers.get("x-gogs-event");
  if (github !== null) return github.trim().toLowerCase();
  const gitlab = headers.get("x-gitlab-event");
  if (gitlab !== null) {
    const name = gitlab.trim().toLowerCase();
    return name === "push hook" ? "push" : name;
  }
  return undefined;
}

/** JSON, GitHub's form-encoded `payload=` variant, or an empty body (generic senders). */
function parsePayload(contentType: string | null, body: Uint8Array): unknown {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  if (text.trim() === "") return undefined;
  const form = contentType?.toLowerCase().startsWith(
    "application/x-www-form-urlencoded",
  );
  // `curl -d '{…}'` labels JSON as a form too: only a `payload=` field makes it one.
  const payload = form && !text.trimStart().startsWith("{")
    ? new URLSearchParams(text).get("payload")
    : null;
  return JSON.parse(payload ?? text);
}

/** The body, or undefined as soon as it grows past `limit` bytes. */
async function readLimited(
  request: Request,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** HMAC-SHA256 of `body` with `secret`, as GitHub and Gitea sign webhooks. */
export async function hmacSha256(
  secret: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
}

/** Compares two tokens in constant time, whatever their lengths (both are hashed first). */
async function sameSecret(presented: string, secret: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(secret)),
  ]);
  return constantTimeEqual(new Uint8Array(a), new Uint8Array(b));
}

/** True when both byte strings are equal; the time taken depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index++) {
    difference |= a[index] ^ b[index];
  }
  return difference === 0;
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unauthorized(reason: string): WebhookVerdict {
  return { kind: "rejected", status: 401, reason };
}

function tooLarge(): WebhookVerdict {
  return {
    kind: "rejected",
    status: 413,
    reason: `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`,
  };
}
