/** Delivering notifications off the deploy path: per-target queues, timeouts, retries with backoff. */
import type { NotificationEvent } from "./event.ts";
import { type EventContextSource, withContext } from "./event_context.ts";
import { notificationRequest } from "./format.ts";
import { redactUrlsIn, type ResolvedTarget } from "./target.ts";
import {
  type DeliveryResult,
  postRequest,
  REQUEST_TIMEOUT_MS,
} from "./http_post.ts";
import {
  DeliveryQueue,
  type DeliveryQueueOptions,
} from "./retrying_delivery.ts";

export { type DeliveryResult, REQUEST_TIMEOUT_MS };

/** Options of {@link sendNotification}. */
export interface SendOptions {
  /** Per-request limit. */
  timeoutMs: number;
  /** Aborting cancels the request. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

/** Sends `event` to `target` once; never throws, errors carry no secret. */
export function sendNotification(
  target: ResolvedTarget,
  event: NotificationEvent,
  options: SendOptions,
): Promise<DeliveryResult> {
  const request = notificationRequest(target, event);
  return postRequest(
    { url: request.url, headers: request.headers, body: request.body },
    {
      ...options,
      redact: redactUrlsIn,
      redirectHint: "update the notify URL",
    },
  );
}

/** Options of {@link NotificationQueue}. */
export interface NotificationQueueOptions extends DeliveryQueueOptions {
  fetch?: typeof fetch;
  /** Completes each event (commit subject and author, run URL) just before it is sent. */
  context?: EventContextSource;
}

interface QueuedNotification {
  target: ResolvedTarget;
  event: NotificationEvent;
}

/**
 * Sends notifications in the background, in order per target, each target on
 * its own so a slow one delays nobody else. {@link enqueue} returns at once.
 */
export class NotificationQueue {
  readonly #queue: DeliveryQueue<QueuedNotification>;

  constructor(options: NotificationQueueOptions) {
    const { fetch, context, ...tuning } = options;
    this.#queue = new DeliveryQueue<QueuedNotification>({
      noun: "notifications",
      key: (item) => item.target.index,
      describe: (item) => ({
        what: item.event.event,
        target: item.target.label,
      }),
      send: async (item, attempt) =>
        sendNotification(
          item.target,
          await withContext(item.event, context),
          { ...attempt, fetch },
        ),
    }, tuning);
  }

  /** Notifications not yet delivered or given up. */
  get pending(): number {
    return this.#queue.pending;
  }

  /** Counts since start: delivered, and given up after every attempt. */
  get counts(): { delivered: number; failed: number } {
    const { delivered, failed } = this.#queue.counts;
    return { delivered, failed };
  }

  /** Queues `event` for `target`; never waits, never throws. */
  enqueue(target: ResolvedTarget, event: NotificationEvent): void {
    this.#queue.enqueue({ target, event });
  }

  /**
   * Waits up to `deadlineMs` for queued notifications, then cancels the rest;
   * returns how many were left undelivered. Nothing can be queued afterwards.
   */
  close(deadlineMs: number): Promise<number> {
    return this.#queue.close(deadlineMs);
  }
}
