/** Who may read the status endpoints, and how often: the optional read token and a per-client rate limit. */
import { sameSecret } from "./constant_time.ts";

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

/**
 * True when `headers` carry `token` as `Authorization: Bearer <token>` or as
 * the password of `Authorization: Basic` (so a browser can prompt for it).
 */
export function presentsReadToken(headers: Headers, token: string): boolean {
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
  return sameSecret(presented, token);
}
