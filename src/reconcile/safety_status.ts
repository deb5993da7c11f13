/** Suspension, rollback and health of each service as `status`, `/api/status` and the status page show them. */
import { shortCommit } from "../git/commit_id.ts";
import { rollbacks } from "../state/rollbacks.ts";
import type { StateStore } from "../state/store.ts";
import {
  describeSuspension,
  type Suspension,
  suspensionOf,
  suspensions,
} from "../state/suspensions.ts";

/** Key prefix of a service's health in the notification state: `health:<service>`. */
export const HEALTH_STATE_PREFIX = "health:";

/** A service's health as the self-heal checks last saw it. */
export interface HealthState {
  state: "healthy" | "unhealthy";
  /** Epoch milliseconds of the change to this state. */
  since: number;
  /** Epoch milliseconds of the last check (absent in files written before it was kept). */
  checkedAt?: number;
  error: string | null;
}

/** Reads the stored health of `service`. */
export function healthState(
  store: StateStore,
  service: string,
): HealthState | undefined {
  const text = store.notificationState(`${HEALTH_STATE_PREFIX}${service}`);
  return text === undefined ? undefined : JSON.parse(text);
}

/** The JSON fields added to each service of the status document. */
export interface SafetyFields {
  suspension:
    | { scope: string; reason: string | null; since: string; text: string }
    | null;
  rollback:
    | {
      from: string;
      to: string;
      runId: number | null;
      state: string;
      at: string;
      held: boolean;
      text: string;
    }
    | null;
  health:
    | {
      state: string;
      since: string;
      /** When the last check ran: a health is only as fresh as this. */
      lastCheckedAt: string;
      error: string | null;
      text: string;
    }
    | null;
}

/** Reads suspensions and rollbacks once; `of` gives one service's fields. */
export function safetyStatus(store: StateStore): {
  suspensions: ReadonlyMap<string, Suspension>;
  of(service: string, deployedCommit: string | null): SafetyFields;
} {
  const suspended = suspensions(store);
  const rolledBack = rollbacks(store);
  return {
    suspensions: suspended,
    of(service, deployedCommit) {
      const suspension = suspensionOf(suspended, service);
      const rollback = rolledBack.get(service);
      const health = healthState(store, service);
      return {
        suspension: suspension
          ? {
            scope: suspension.service,
            reason: suspension.reason,
            since: new Date(suspension.suspendedAt).toISOString(),
            text: describeSuspension(suspension),
          }
          : null,
        rollback: rollback
          ? {
            from: rollback.failedCommit,
            to: rollback.deployedCommit,
            runId: rollback.runId,
            state: rollback.state,
            at: new Date(rollback.finishedAt ?? rollback.startedAt)
              .toISOString(),
            held: rollback.deployedCommit === deployedCommit,
            text: `rolled back from ${shortCommit(rollback.failedCommit)} to ${
              shortCommit(rollback.deployedCommit)
            }${rollback.state === "failed" ? " (the rollback failed)" : ""}`,
          }
          : null,
        health: health ? healthFields(health) : null,
      };
    },
  };
}

/** A stored health as documents show it: never "healthy since" alone, always when it was last checked. */
function healthFields(
  health: HealthState,
): NonNullable<SafetyFields["health"]> {
  const checked = new Date(health.checkedAt ?? health.since).toISOString();
  const since = new Date(health.since).toISOString();
  return {
    state: health.state,
    since,
    lastCheckedAt: checked,
    error: health.error,
    text: health.state === "unhealthy"
      ? `unhealthy since ${since}, last checked ${checked}${
        health.error ? `: ${health.error}` : ""
      }`
      : `healthy, last checked ${checked}`,
  };
}
