/** Remembering accepted webhook deliveries by their id, so a replayed one starts no cycle (docs/webhooks.md#replayed-deliveries). */

/** How long an accepted delivery id is remembered. */
export const DELIVERY_MEMORY_MS = 60 * 60 * 1000;
/** Ids remembered at most; beyond it the oldest are forgotten first. */
export const MAX_REMEMBERED_DELIVERIES = 10_000;

/** The headers git hosts put a delivery's unique id in. */
const DELIVERY_HEADERS = [
  "x-github-delivery",
  "x-gitea-delivery",
  "x-forgejo-delivery",
  "x-gogs-delivery",
  "x-gitlab-event-uuid",
  "x-gitlab-webhook-uuid",
] as const;

/** The delivery id `headers` carry (`header: id`), or undefined for a sender that sends none. */
export function deliveryId(headers: Headers): string | undefined {
  for (const name of DELIVERY_HEADERS) {
    const id = headers.get(name)?.trim();
    // An id is a UUID or similar: anything longer is not worth remembering.
    if (id && id.length <= 128) return `${name}: ${id}`;
  }
  return undefined;
}

/** Accepted delivery ids with the time they were first seen, oldest first. */
export class RecentDeliveries {
  readonly #seen = new Map<string, number>();
  constructor(readonly now: () => number) {}

  /** True when `id` was accepted within the memory; else remembers it and returns false. */
  seenBefore(id: string): boolean {
    const now = this.now();
    this.#forget(now);
    if (this.#seen.has(id)) return true;
    if (this.#seen.size >= MAX_REMEMBERED_DELIVERIES) {
      this.#seen.delete(this.#seen.keys().next().value!);
    }
    this.#seen.set(id, now);
    return false;
  }

  #forget(now: number): void {
    for (const [id, at] of this.#seen) {
      if (now - at < DELIVERY_MEMORY_MS) return;
      this.#seen.delete(id);
    }
  }
}
