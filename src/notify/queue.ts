/** Delivering notifications off the deploy path: per-target queues, timeouts, retries with backoff. */
import type { Logger } from "../log/logging.ts";
import type { NotificationEvent } from "./event.ts";
import { notificationRequest } from "./format.ts";
import { redactUrlsIn, type ResolvedTarget } from "./target.ts";

/** How one delivery attempt ended. */
export type DeliveryResult =
  | { kind: "delivered"; status: number }
  | { kind: "failed"; error: string; retry: boolean };

/** Options of {@link sendNotification}. */
export interface SendOptions {
  /** Per-request limit. */
  timeoutMs: number;
  /** Aborting cancels the request. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Default per-request limit. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Sends `event` to `target` once; never throws, errors carry no secret. */
export async function sendNotification(
  target: ResolvedTarget,
  event: NotificationEvent,
  options: SendOptions,
): Promise<DeliveryResult> {
  const request = notificationRequest(target, event);
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
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
      // A redirect is never followed (it could carry the payload elsewhere) nor retried.
      redirect: "manual",
    });
    const text = await response.text();
    if (response.ok) return { kind: "delivered", status: response.status };
    if (response.status >= 300 && response.status < 400) {
      return {
        kind: "failed",
        error: redactUrlsIn(
          `HTTP ${response.status} redirect to ${
            response.headers.get("location") ?? "(no location)"
          }: redirects are not followed; update the notify URL`,
        ),
        retry: false,
      };
    }
    // 4xx other than 408/429 is a permanent refusal (bad token, bad topic): no retry.
    const retry = response.status >= 500 || response.status === 408 ||
      response.status === 429;
    const detail = text.trim().split("\n")[0].slice(0, 200);
    return {
      kind: "failed",
      error: redactUrlsIn(
        `HTTP ${response.status}${detail ? `: ${detail}` : ""}`,
      ),
      retry,
    };
  } catch (error) {
    const reason = controller.signal.aborted
      ? (controller.signal.reason as Error).message
      : describeError(error);
    // Without --allow-net no retry can succeed.
    const retry = !(error instanceof Deno.errors.NotCapable);
    return { kind: "failed", error: redactUrlsIn(reason), retry };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** Options of {@link NotificationQueue}. */
export interface NotificationQueueOptions {
  logger: Logger;
  /** Attempts per notification (first try included). Default 4. */
  attempts?: number;
  /** Delay before retry n (1-based); default 1 s, 2 s, 4 s. */
  backoffMs?: (retry: number) => number;
  timeoutMs?: number;
  /** Notifications waiting per target before new ones are dropped. Default 100. */
  maxPending?: number;
  fetch?: typeof fetch;
}

/**
 * Sends notifications in the background, in order per target, each target on
 * its own so a slow one delays nobody else. {@link enqueue} returns at once.
 */
export class NotificationQueue {
  readonly #options: Required<Omit<NotificationQueueOptions, "fetch">> & {
    fetch?: typeof fetch;
  };
  readonly #chains = new Map<number, Promise<void>>();
  readonly #waiting = new Map<number, number>();
  readonly #closing = new AbortController();
  #pending = 0;
  #delivered = 0;
  #failed = 0;

  constructor(options: NotificationQueueOptions) {
    this.#options = {
      attempts: 4,
      backoffMs: (retry) => 1000 * 2 ** (retry - 1),
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxPending: 100,
      ...options,
    };
  }

  /** Notifications not yet delivered or given up. */
  get pending(): number {
    return this.#pending;
  }

  /** Counts since start: delivered, and given up after every attempt. */
  get counts(): { delivered: number; failed: number } {
    return { delivered: this.#delivered, failed: this.#failed };
  }

  /** Queues `event` for `target`; never waits, never throws. */
  enqueue(target: ResolvedTarget, event: NotificationEvent): void {
    const { logger, maxPending } = this.#options;
    if (this.#closing.signal.aborted) {
      logger.warn("{event} not sent to {target}: shutting down", {
        event: event.event,
        target: target.label,
      });
      return;
    }
    const waiting = this.#waiting.get(target.index) ?? 0;
    if (waiting >= maxPending) {
      logger.warn(
        "{event} dropped for {target}: {count} notifications already waiting",
        { event: event.event, target: target.label, count: waiting },
      );
      return;
    }
    this.#waiting.set(target.index, waiting + 1);
    this.#pending++;
    const previous = this.#chains.get(target.index) ?? Promise.resolve();
    const next = previous.then(() => this.#deliver(target, event)).finally(
      () => {
        this.#pending--;
        this.#waiting.set(
          target.index,
          (this.#waiting.get(target.index) ?? 1) - 1,
        );
      },
    );
    this.#chains.set(target.index, next);
  }

  async #deliver(
    target: ResolvedTarget,
    event: NotificationEvent,
  ): Promise<void> {
    const { logger, attempts, backoffMs, timeoutMs } = this.#options;
    const signal = this.#closing.signal;
    const fields = { event: event.event, target: target.label };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal.aborted) break;
      const result = await sendNotification(target, event, {
        timeoutMs,
        signal,
        fetch: this.#options.fetch,
      });
      if (result.kind === "delivered") {
        this.#delivered++;
        logger.debug("sent {event} to {target} (HTTP {status})", {
          ...fields,
          status: result.status,
        });
        return;
      }
      if (!result.retry || attempt === attempts || signal.aborted) {
        this.#failed++;
        logger.warn(
          "{event} not delivered to {target}: {error} (attempt {attempt} of {attempts}, giving up)",
          { ...fields, error: result.error, attempt, attempts },
        );
        return;
      }
      const delay = backoffMs(attempt);
      const retrying = { ...fields, error: result.error, delay };
      const message =
        "cannot send {event} to {target}: {error}; retrying in {delay} ms";
      // The first failure is worth a warning; the retries' are details.
      if (attempt === 1) logger.warn(message, retrying);
      else logger.debug(message, retrying);
      await abortableDelay(delay, signal);
    }
    this.#failed++;
  }

  /**
   * Waits up to `deadlineMs` for queued notifications, then cancels the rest;
   * returns how many were left undelivered. Nothing can be queued afterwards.
   */
  async close(deadlineMs: number): Promise<number> {
    const all = Promise.all(this.#chains.values());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), deadlineMs);
    });
    const first = await Promise.race([
      all.then(() => "done" as const),
      deadline,
    ]);
    clearTimeout(timer);
    const left = this.#pending;
    this.#closing.abort();
    if (first === "deadline") {
      await all;
      this.#options.logger.warn(
        "{count} notification(s) not delivered within {seconds} s of shutdown",
        { count: left, seconds: deadlineMs / 1000 },
      );
    }
    return first === "deadline" ? left : 0;
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

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
