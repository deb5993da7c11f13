/** Who may read the status endpoints, and how often: the optional read token and a per-client rate limit. */
import { constantTimeEqual } from "./webhook.ts";

/** Requests a client may make at once before it is limited. */
export const READ_BURST = 30;
/** Requests per second a client regains after a burst. */
export const READ_REFILL_PER_SECOND = 1;
/** Clients remembered; beyond this the ones with full buckets are forgotten. */
const MAX_CLIENTS = 4096;

/**
 * A token bucket per client address: `burst` requests at once, then
 * `refillPerSecond`. Memory is bounded however many addresses ask.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly options: {
      burst: number;
      refillPerSecond: number;
      now: () => number;
    },
  ) {}

  /** Takes one request for `client`: 0 when allowed, else the seconds to wait. */
  take(client: string): number {
    const { burst, refillPerSecond } = this.options;
    const now = this.options.now();
    let bucket = this.#buckets.get(client);
    if (!bucket) {
      if (this.#buckets.size >= MAX_CLIENTS) this.#forgetRested(now);
      bucket = { tokens: burst, at: now };
      this.#buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(
      burst,
      bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond,
    );
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond));
  }

  #forgetRested(now: number): void {
    const { burst, refillPerSecond } = this.options;
    for (const [client, bucket] of this.#buckets) {
      const tokens = bucket.tokens +
        ((now - bucket.at) / 1000) * refillPerSecond;
      if (tokens >= burst) this.#buckets.delete(client);
    }
    // Every client is active: start over rather than grow.
    if (this.#buckets.size >= MAX_CLIENTS) this.#buckets.clear();
  }
}

const encoder = new TextEncoder();

/**
 * True when `headers` carry `token` as `Authorization: Bearer <token>` or as
 * the password of `Authorization: Basic` (so a browser can prompt for it).
 */
export async function presentsReadToken(
  headers: Headers,
  token: string,
): Promise<boolean> {
  const authorization = headers.get("authorization")?.trim() ?? "";
  let presented: string | undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization);
  if (bearer) presented = bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (basic) {
    try {
      const decoded = atob(basic[1]);
      const colon = decoded.indexOf(":");
      presented = colon < 0 ? decoded : decoded.slice(colon + 1);
    } catch {
      presented = undefined;
    }
  }
  if (presented === undefined) return false;
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(token)),
  ]);
  return constantTimeEqual(new Uint8Array(a), new Uint8Array(b));
}

/**
 * A fixed number of slots; callers wait in turn for one, up to a deadline,
 * so a burst is served in order while at most `size` run at once.
 */
export class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly size: number) {
    this.#free = size;
  }

  /** A release function, or undefined when no slot came free within `timeoutMs`. */
  async take(timeoutMs: number): Promise<(() => void) | undefined> {
    if (this.#free <= 0) {
      const granted = await new Promise<boolean>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(wake), 1);
          resolve(false);
        }, timeoutMs);
        this.#waiting.push(wake);
      });
      if (!granted) return undefined;
    } else {
      this.#free--;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next in line.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  /** Slots in use. */
  get taken(): number {
    return this.size - this.#free;
  }
}
