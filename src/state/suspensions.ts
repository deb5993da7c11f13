/** Operator suspensions: services (or the whole agent) that polls, webhooks, retries and self-heal leave alone. */
import type { StateStore } from "./store.ts";

/** The key under which a suspension of the whole agent (`suspend --all`) is stored. */
export const ALL_SERVICES = "*";

/** One suspension as stored. */
export interface Suspension {
  /** A service name, or {@link ALL_SERVICES}. */
  service: string;
  reason: string | null;
  /** Epoch milliseconds. */
  suspendedAt: number;
}

/** Every suspension, by service (the agent-wide one under {@link ALL_SERVICES}). */
export function suspensions(
  store: Pick<StateStore, "statement">,
): Map<string, Suspension> {
  const rows = store.statement(
    "SELECT service, reason, suspended_at FROM suspensions ORDER BY service",
  ).all() as { service: string; reason: string | null; suspended_at: number }[];
  return new Map(
    rows.map((row) => [row.service, {
      service: String(row.service),
      reason: row.reason === null ? null : String(row.reason),
      suspendedAt: Number(row.suspended_at),
    }]),
  );
}

/** The suspension that keeps `service` from running, if any (its own first, else the agent-wide one). */
export function suspensionOf(
  all: ReadonlyMap<string, Suspension>,
  service: string,
): Suspension | undefined {
  return all.get(service) ?? all.get(ALL_SERVICES);
}

/** Suspends the services (or the agent, with {@link ALL_SERVICES}); an existing suspension keeps its time and takes the new reason. */
export function suspend(
  store: StateStore,
  services: readonly string[],
  options: { reason?: string; now: number },
): void {
  store.transaction(() => {
    for (const service of services) {
      store.statement(
        `INSERT INTO suspensions (service, reason, suspended_at) VALUES (?, ?, ?)
         ON CONFLICT (service) DO UPDATE SET reason = excluded.reason`,
      ).run(service, options.reason ?? null, options.now);
    }
  });
}

/** Lifts the suspensions of `services`, or every suspension with "all"; returns the ones lifted. */
export function resume(
  store: StateStore,
  services: readonly string[] | "all",
): string[] {
  return store.transaction(() => {
    const existing = [...suspensions(store).keys()];
    const lifted = services === "all"
      ? existing
      : existing.filter((service) => services.includes(service));
    for (const service of lifted) {
      store.statement("DELETE FROM suspensions WHERE service = ?").run(service);
    }
    return lifted;
  });
}

/** A suspension in words, e.g. `suspended since 2026-01-01T10:00:00.000Z: disk full`. */
export function describeSuspension(suspension: Suspension): string {
  return `suspended${
    suspension.service === ALL_SERVICES ? " (whole agent)" : ""
  } since ${new Date(suspension.suspendedAt).toISOString()}${
    suspension.reason ? `: ${suspension.reason}` : ""
  }`;
}
