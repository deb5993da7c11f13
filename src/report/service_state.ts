/**
 * The one word that says how a service is (docs/commands.md#service-states),
 * worked out in one place from its last run, holds, suspension, health and the
 * signature check, so that `status`, `plan`, `/api/status`, the status page and
 * `/metrics` always agree. Pure: no state file, no clock.
 * @module
 */
import type { RunOutcome, Trigger } from "../state/types.ts";

/** Every state a service can be in, in the order a reader should worry about them. */
export const SERVICE_STATES = [
  "failed",
  "unhealthy",
  "refused",
  "retrying",
  "held",
  "healing",
  "deploying",
  "suspended",
  "removed",
  "deployed",
] as const;

/** A service's state. */
export type ServiceState = (typeof SERVICE_STATES)[number];

/** The colour of a state's badge: green all is well, blue at work, amber waiting on something, red needs a person, grey left alone. */
export type StateColour = "green" | "blue" | "amber" | "red" | "grey";

/** Badge colour per state. */
export const STATE_COLOUR: Record<ServiceState, StateColour> = {
  deployed: "green",
  deploying: "blue",
  healing: "blue",
  retrying: "amber",
  held: "amber",
  refused: "amber",
  failed: "red",
  unhealthy: "red",
  suspended: "grey",
  removed: "grey",
};

/** The kinds of hold a plan can put on a service. */
export type HoldKind =
  | "backoff"
  | "exhausted"
  | "rolled_back"
  | "suspended"
  | "dependency";

/** What the state is worked out from. */
export interface ServiceStateInput {
  /** The service left the repository (its removal was reported). */
  removed: boolean;
  /** A suspension (its own or the whole agent's) applies. */
  suspended: boolean;
  /** The run in progress, if any. */
  running: { trigger: Trigger } | null;
  /** How its last finished run ended (null: it never ran). */
  lastOutcome: Exclude<RunOutcome, "running"> | null;
  /** Failed attempts at its current revision. */
  failedAttempts: number;
  /** Why the plan holds it back, if it does. */
  hold: HoldKind | null;
  /** Its deployed commit is not the target. */
  outOfDate: boolean;
  /** Its hook file is invalid. */
  configError: boolean;
  /** What the last self-heal check said (null: never checked). */
  health: "healthy" | "unhealthy" | null;
  /** The fetched commit failed signature verification: nothing is deployed until a signed one comes. */
  refused: boolean;
}

/**
 * The state of one service. What needs a person wins over what is merely
 * waiting: a held service whose check fails is `unhealthy`, a suspended one
 * stays `suspended` whatever else is true (nothing acts on it).
 */
export function serviceState(input: ServiceStateInput): ServiceState {
  if (input.removed) return "removed";
  if (input.running) {
    return input.running.trigger === "heal" ? "healing" : "deploying";
  }
  if (input.suspended || input.hold === "suspended") return "suspended";
  if (input.configError || input.hold === "exhausted") return "failed";
  if (input.health === "unhealthy") return "unhealthy";
  if (input.hold === "backoff") return "retrying";
  if (input.hold === "rolled_back") return "held";
  // HEAD stays at the last commit that passed: nothing newer is deployed.
  if (input.refused) return "refused";
  if (input.outOfDate) {
    // Due again after a failure: the next cycle is another attempt.
    return input.lastOutcome === "failed" && input.failedAttempts > 0
      ? "retrying"
      : "deploying";
  }
  if (input.lastOutcome === "failed") return "failed";
  return "deployed";
}

/** The facts of a plan item and the state file a state is read from (what `status` and `plan` have at hand). */
export interface ServiceFacts {
  hold: { kind: HoldKind } | null;
  outOfDate: boolean;
  configError: string | null;
  lastRun: { outcome: RunOutcome; trigger: Trigger } | null;
  failedAttempts: number;
  suspended: boolean;
  health: { state: string } | null;
  refused: boolean;
  removed?: boolean;
}

/** The state of a service from the facts the documents carry. */
export function stateOf(facts: ServiceFacts): ServiceState {
  const running = facts.lastRun?.outcome === "running" ? facts.lastRun : null;
  return serviceState({
    removed: facts.removed ?? false,
    suspended: facts.suspended,
    running: running ? { trigger: running.trigger } : null,
    lastOutcome: facts.lastRun && facts.lastRun.outcome !== "running"
      ? facts.lastRun.outcome
      : null,
    failedAttempts: facts.failedAttempts,
    hold: facts.hold?.kind ?? null,
    outOfDate: facts.outOfDate,
    configError: facts.configError !== null,
    health: facts.health?.state === "unhealthy"
      ? "unhealthy"
      : facts.health?.state === "healthy"
      ? "healthy"
      : null,
    refused: facts.refused,
  });
}
