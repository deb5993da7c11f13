/** `POST /webhook`: authenticating push events and deciding whether they concern our branch (docs/webhooks.md). */
import { createHmac, type Hmac } from "node:crypto";
import { errorMessage } from "../errors.ts";
import { collectGarbage } from "../process/memory.ts";
import type { BodyBuffers } from "./body_buffers.ts";
import { sameBytes, sameSecret } from "./constant_time.ts";
import type { Slots } from "./slots.ts";

/** Largest request body accepted (docs/webhooks.md). */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/** How long a request waits for a body-read slot before it gets a 503. */
export const BODY_READ_WAIT_MS = 10_000;

/** How a webhook request authenticated itself. */
export type WebhookProvider = "github" | "gitea" | "gitlab" | "bearer" | "none";

/** What `POST /webhook` decided. */
export type WebhookVerdict =
  | { kind: "rejected"; status: 400 | 401 | 413 | 503; reason: string }
  | { kind: "ping"; provider: WebhookProvider }
  | { kind: "ignored"; provider: WebhookProvider; reason: string }
  | { kind: "push"; provider: WebhookProvider; ref?: string };

/** Settings of the webhook endpoint. */
export interface WebhookSettings {
  /** Expanded secret; undefined only with `insecure: true`. */
  secret?: string;
  /** The branch the agent follows. */
  branch: string;
  /**
   * Bodies read before the request is authenticated (signed or insecure
   * requests) take a slot; none free is a 503 without reading.
   */
  bodyReads?: Slots;
  /** Buffers reused by the bodies read in those slots; without it each body gets its own. */
  bodyBuffers?: BodyBuffers;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

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
      !sameSecret(credentials.token, secret)
    ) {
      await request.body?.cancel();
      return unauthorized("invalid token");
    }
  }
  const unauthenticated = credentials.kind !== "token" || secret === undefined;
  const slots = unauthenticated ? settings.bodyReads : undefined;
  const release = slots ? await slots.take(BODY_READ_WAIT_MS) : () => {};
  if (!release) {
    await request.body?.cancel();
    return {
      kind: "rejected",
      status: 503,
      reason: "too many unauthenticated bodies are being read; retry later",
    };
  }
  // The signature is computed while the body arrives, and the body is
  // decoded while its buffer is still lent: nothing of it outlives the slot.
  const hmac = secret !== undefined && credentials.kind === "hmac"
    ? createHmac("sha256", secret)
    : undefined;
  const buffers = slots ? settings.bodyBuffers : undefined;
  let body: BodyText | undefined;
  try {
    body = await readBody(request, {
      limit: MAX_WEBHOOK_BODY_BYTES,
      hmac,
      buffers,
      decode: (bytes) => {
        // A body with a bad signature is never decoded.
        if (hmac && credentials.kind === "hmac") {
          const expected = new Uint8Array(hmac.digest());
          if (!sameBytes(expected, credentials.signature)) {
            return { kind: "unsigned" };
          }
        }
        try {
          return { kind: "text", text: utf8.decode(bytes) };
        } catch (error) {
          return { kind: "undecodable", error };
        }
      },
    });
  } finally {
    release();
    // Bodies of a burst are garbage now: give their memory back while idle.
    if (slots?.taken === 0) collectGarbage();
  }
  if (body === undefined) return tooLarge();
  if (body.kind === "unsigned") return unauthorized("invalid signature");
  const provider = credentials.provider;
  const event = eventName(request.headers);
  if (event === "ping") return { kind: "ping", provider };
  let payload: unknown;
  try {
    if (body.kind === "undecodable") throw body.error;
    payload = parsePayload(request.headers.get("content-type"), body.text);
  } catch (error) {
    return {
      kind: "rejected",
      status: 400,
      reason: `malformed body: ${errorMessage(error)}`,
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
function parsePayload(contentType: string | null, text: string): unknown {
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

/** A body once read: its text, or why it has none. */
type BodyText =
  | { kind: "text"; text: string }
  | { kind: "undecodable"; error: unknown }
  | { kind: "unsigned" };

/**
 * Reads the body into one buffer (lent by `buffers`, else allocated), feeding
 * `hmac` as bytes arrive, and hands the bytes to `decode` before the buffer
 * goes back. Undefined as soon as the body grows past `limit` bytes.
 */
async function readBody(
  request: Request,
  options: {
    limit: number;
    hmac?: Hmac;
    buffers?: BodyBuffers;
    decode: (bytes: Uint8Array) => BodyText;
  },
): Promise<BodyText | undefined> {
  const { limit, hmac } = options;
  if (!request.body) return options.decode(new Uint8Array());
  // One byte more than the limit tells a larger body from one at the limit.
  const declared = Number(request.headers.get("content-length") ?? NaN);
  let buffer = options.buffers?.take() ?? new Uint8Array(
    Number.isSafeInteger(declared) && declared <= limit ? declared + 1 : 0,
  );
  let size = 0;
  try {
    const byob = byobReader(request.body);
    if (!byob) {
      // A stream without its own buffers: copy each chunk in.
      const reader = request.body.getReader();
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        if (size + value.byteLength > limit) {
          await reader.cancel();
          return undefined;
        }
        if (size + value.byteLength > buffer.byteLength) {
          buffer = grow(buffer, size, size + value.byteLength, limit + 1);
        }
        buffer.set(value, size);
        hmac?.update(value);
        size += value.byteLength;
      }
      return options.decode(buffer.subarray(0, size));
    }
    while (true) {
      if (size === buffer.byteLength) {
        buffer = grow(buffer, size, size + 1, limit + 1);
      }
      const { done, value } = await byob.read(buffer.subarray(size));
      if (value) {
        // Reading moves the buffer into `value`: keep hold of it.
        buffer = new Uint8Array(value.buffer);
        hmac?.update(value);
        size += value.byteLength;
      }
      if (done) break;
      if (size > limit) {
        await byob.cancel();
        return undefined;
      }
    }
    return options.decode(buffer.subarray(0, size));
  } finally {
    options.buffers?.give(buffer);
  }
}

/** A reader that reads into the caller's buffer, when the stream offers one. */
function byobReader(
  stream: ReadableStream<Uint8Array>,
): ReadableStreamBYOBReader | undefined {
  try {
    return stream.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/** A larger copy of the first `size` bytes of `buffer`, at least `needed` and at most `max` bytes. */
function grow(
  buffer: Uint8Array<ArrayBuffer>,
  size: number,
  needed: number,
  max: number,
): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(
    Math.min(max, Math.max(buffer.byteLength * 2, needed, 4096)),
  );
  grown.set(buffer.subarray(0, size));
  return grown;
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
