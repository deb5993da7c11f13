/** Delivering messages off the deploy path: one bounded queue per target, retries with backoff. */
import type { Logger } from "../log/logging.ts";
import { type DeliveryResult, REQUEST_TIMEOUT_MS } from "./http_post.ts";

/** What the queue needs to know about the messages it carries. */
export interface DeliveryKind<Item> {
  /** Plural noun for log lines: "notifications", "commit statuses". */
  noun: string;
  /** Items with the same key are delivered in order, one at a time. */
  key: (item: Item) => string | number;
  /** How the item appears in logs (never with a secret). */
  describe: (item: Item) => { what: string; target: string };
  /** One attempt; must not throw. */
  send: (
    item: Item,
    options: { timeoutMs: number; signal: AbortSignal },
  ) => Promise<DeliveryResult>;
}

/** Tuning of a {@link DeliveryQueue}. */
export interface DeliveryQueueOptions {
  logger: Logger;
  /** Attempts per item (first try included). Default 4. */
  attempts?: number;
  /** Delay before retry n (1-based); default 1 s, 2 s, 4 s. */
  backoffMs?: (retry: number) => number;
  timeoutMs?: number;
  /** Items waiting per target; beyond it the oldest waiting one is dropped. Default 100. */
  maxPending?: number;
}

interface Lane<Item> {
  waiting: Item[];
  /** The lane's worker, while it runs. */
  worker?: Promise<void>;
}

/**
 * Sends items in the background, in order per target, each target on its own
 * so a slow one delays nobody else. {@link enqueue} returns at once; a target
 * that stays down loses its oldest waiting items first, with a warning.
 */
export class DeliveryQueue<Item> {
  readonly #kind: DeliveryKind<Item>;
  readonly #options: Required<DeliveryQueueOptions>;
  readonly #lanes = new Map<string | number, Lane<Item>>();
  readonly #closing = new AbortController();
  #pending = 0;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;

  constructor(kind: DeliveryKind<Item>, options: DeliveryQueueOptions) {
    this.#kind = kind;
    this.#options = {
      attempts: 4,
      backoffMs: (retry) => 1000 * 2 ** (retry - 1),
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxPending: 100,
      ...options,
    };
  }

  /** Items not yet delivered, given up or dropped. */
  get pending(): number {
    return this.#pending;
  }

  /** Counts since start: delivered, given up after every attempt, dropped unsent. */
  get counts(): { delivered: number; failed: number; dropped: number } {
    return {
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
    };
  }

  /** Queues `item`; never waits, never throws. */
  enqueue(item: Item): void {
    const { logger, maxPending } = this.#options;
    const described = this.#kind.describe(item);
    if (this.#closing.signal.aborted) {
      logger.warn("{what} not sent to {target}: shutting down", described);
      return;
    }
    const key = this.#kind.key(item);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { waiting: [] };
      this.#lanes.set(key, lane);
    }
    if (lane.waiting.length >= Math.max(1, maxPending)) {
      const oldest = lane.waiting.shift()!;
      this.#pending--;
      this.#dropped++;
      logger.warn(
        "{what} dropped for {target}: {count} {noun} already waiting (the oldest goes first)",
        {
          ...this.#kind.describe(oldest),
          count: lane.waiting.length + 1,
          noun: this.#kind.noun,
        },
      );
    }
    lane.waiting.push(item);
    this.#pending++;
    if (!lane.worker) lane.worker = this.#drain(lane);
  }

  async #drain(lane: Lane<Item>): Promise<void> {
    try {
      while (lane.waiting.length > 0) {
        const item = lane.waiting.shift()!;
        try {
          await this.#deliver(item);
        } finally {
          this.#pending--;
        }
      }
    } finally {
      lane.worker = undefined;
    }
  }

  async #deliver(item: Item): Promise<void> {
    const { logger, attempts, backoffMs, timeoutMs } = this.#options;
    const signal = this.#closing.signal;
    const fields = this.#kind.describe(item);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal.aborted) break;
      const result = await this.#kind.send(item, { timeoutMs, signal });
      if (result.kind === "delivered") {
        this.#delivered++;
        logger.debug("sent {what} to {target} (HTTP {status})", {
          ...fields,
          status: result.status,
        });
        return;
      }
      if (!result.retry || attempt === attempts || signal.aborted) {
        this.#failed++;
        logger.warn(
          "{what} not delivered to {target}: {error} (attempt {attempt} of {attempts}, giving up)",
          { ...fields, error: result.error, attempt, attempts },
        );
        return;
      }
      const delay = backoffMs(attempt);
      const retrying = { ...fields, error: result.error, delay };
      const message =
        "cannot send {what} to {target}: {error}; retrying in {delay} ms";
      // The first failure is worth a warning; the retries' are details.
      if (attempt === 1) logger.warn(message, retrying);
      else logger.debug(message, retrying);
      await abortableDelay(delay, signal);
    }
    this.#failed++;
  }

  /**
   * Waits up to `deadlineMs` for queued items, then cancels the rest; returns
   * how many were left undelivered. Nothing can be queued afterwards.
   */
  async close(deadlineMs: number): Promise<number> {
    const all = async () => {
      // A worker may hand over to nothing, or items may arrive while waiting.
      while (true) {
        const workers = [...this.#lanes.values()].flatMap((lane) =>
          lane.worker ? [lane.worker] : []
        );
        if (workers.length === 0) return;
        await Promise.all(workers);
      }
    };
    const done = all();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), deadlineMs);
    });
    const first = await Promise.race([
      done.then(() => "done" as const),
      deadline,
    ]);
    clearTimeout(timer);
    const left = this.#pending;
    this.#closing.abort();
    if (first === "deadline") {
      await done;
      this.#options.logger.warn(
        "{count} {noun} not delivered within {seconds} s of shutdown",
        { count: left, noun: this.#kind.noun, seconds: deadlineMs / 1000 },
      );
    }
    return first === "deadline" ? left : 0;
  }
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
