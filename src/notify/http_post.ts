/**
 * One HTTP request to a peer (a notification target, a git host's commit
 * status API) under a total deadline, reading at most
 * {@link MAX_RESPONSE_BYTES} of the answer: a peer can neither hold the
 * agent nor fill its memory.
 */

/** How one delivery attempt ended. */
export type DeliveryResult =
  | { kind: "delivered"; status: number }
  | { kind: "failed"; error: string; retry: boolean; status?: number };

/** Default limit of a whole request: connecting, sending, and reading the answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Bytes of an answer read at most; the connection is dropped past them. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Characters of an error answer quoted in the delivery error. */
export const ERROR_DETAIL_CHARS = 200;

/** One HTTP request ready to send. */
export interface OutgoingRequest {
  url: string | URL;
  method?: string;
  headers: Record<string, string>;
  body: string;
}

/** Options of {@link postRequest}. */
export interface PostOptions {
  /** Limit of the whole request, the answer's body included. */
  timeoutMs: number;
  /** Aborting cancels the request. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Removes secrets (URLs, tokens) from every error text. */
  redact: (text: string) => string;
  /** Said after a redirect, which is never followed: what the operator should change. */
  redirectHint: string;
}

/** Sends `request` once; never throws, and every error text has passed through `redact`. */
export async function postRequest(
  request: OutgoingRequest,
  options: PostOptions,
): Promise<DeliveryResult> {
  const { redact } = options;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error("timed out")),
    options.timeoutMs,
  );
  const onAbort = () => controller.abort(new Error("cancelled at shutdown"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const response = await (options.fetch ?? fetch)(request.url, {
      method: request.method ?? "POST",
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
      // A redirect is never followed (it could carry the payload elsewhere) nor retried.
      redirect: "manual",
    });
    const answer = await readCapped(response, MAX_RESPONSE_BYTES);
    // Dropping the rest closes the connection rather than draining it.
    if (!answer.complete) controller.abort(new Error("response too large"));
    const status = response.status;
    if (response.ok) return { kind: "delivered", status };
    if (status >= 300 && status < 400) {
      return {
        kind: "failed",
        error: redact(
          `HTTP ${status} redirect to ${
            response.headers.get("location") ?? "(no location)"
          }: redirects are not followed; ${options.redirectHint}`,
        ),
        retry: false,
        status,
      };
    }
    // 4xx other than 408/429 is a permanent refusal (bad token, bad topic): no retry.
    const retry = status >= 500 || status === 408 || status === 429;
    const detail = errorDetail(answer, redact);
    return {
      kind: "failed",
      error: `HTTP ${status}${detail ? `: ${detail}` : ""}`,
      retry,
      status,
    };
  } catch (error) {
    const reason = controller.signal.aborted
      ? (controller.signal.reason as Error).message
      : describeError(error);
    // Without --allow-net no retry can succeed.
    const retry = !(error instanceof Deno.errors.NotCapable);
    return { kind: "failed", error: redact(reason), retry };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** The message with its causes (fetch says "fetch failed" and puts the reason in `cause`). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && parts.length < 4) {
    const message = current instanceof Error
      ? current.message
      : String(current);
    if (message !== "" && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

/** The start of an answer's body: its text, and whether that is all of it. */
interface CappedBody {
  text: string;
  complete: boolean;
}

/** Reads up to `limit` bytes of `response`'s body, then cancels the rest. */
async function readCapped(
  response: Response,
  limit: number,
): Promise<CappedBody> {
  if (!response.body) return { text: "", complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.byteLength > limit - size) {
      chunks.push(value.subarray(0, limit - size));
      size = limit;
      complete = false;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { text: new TextDecoder().decode(bytes), complete };
}

/**
 * The first line of an error answer, redacted while whole and only then cut
 * to {@link ERROR_DETAIL_CHARS}: a secret cannot straddle a cut. A first line
 * the byte limit cut off is not quoted at all, for the same reason.
 */
function errorDetail(
  answer: CappedBody,
  redact: (text: string) => string,
): string {
  const text = answer.text.trimStart();
  const newline = text.indexOf("\n");
  if (newline < 0 && !answer.complete) return "(answer too long to quote)";
  const line = (newline < 0 ? text : text.slice(0, newline)).trim();
  return redact(line).slice(0, ERROR_DETAIL_CHARS);
}
