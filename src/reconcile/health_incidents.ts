/** A service's health over self-heal checks: stored on every change, one `unhealthy` per incident and `healed` after it. */
import type { HealthOutcome } from "../hooks/health_step.ts";
import { healthEvent, type NotificationEvent } from "../notify/event.ts";
import type { StateStore } from "../state/store.ts";
import {
  HEALTH_STATE_PREFIX,
  type HealthState,
  healthState,
} from "./safety_status.ts";

/** Records a check's result and when it ran; returns the event it causes, if any. */
export function recordHealthCheck(
  store: StateStore,
  check: { service: string; outcome: HealthOutcome; commit: string },
  context: { host: string; now: () => number },
): NotificationEvent | undefined {
  if (check.outcome.kind === "interrupted") return undefined;
  const key = `${HEALTH_STATE_PREFIX}${check.service}`;
  const previous = healthState(store, check.service);
  const save = (state: HealthState) =>
    store.setNotificationState(key, JSON.stringify(state), context.now());
  const checkedAt = context.now();
  if (check.outcome.kind === "failed") {
    if (previous?.state === "unhealthy") {
      save({ ...previous, checkedAt, error: check.outcome.message });
      return undefined;
    }
    save({
      checkedAt,
      state: "unhealthy",
      since: context.now(),
      error: check.outcome.message,
    });
    return healthEvent("unhealthy", {
      service: check.service,
      commit: check.commit,
      error: check.outcome.message,
      since: context.now(),
    }, context);
  }
  if (previous?.state === "healthy") {
    save({ ...previous, checkedAt });
    return undefined;
  }
  save({ state: "healthy", since: context.now(), checkedAt, error: null });
  if (previous?.state !== "unhealthy") return undefined;
  return healthEvent("healed", {
    service: check.service,
    commit: check.commit,
    error: null,
    since: previous.since,
  }, context);
}
