/**
 * The last verification's rejection as the state database keeps it: what
 * `status`, `plan` and the status page show without building a verifier.
 * @module
 */
import type { StateStore } from "../state/store.ts";
import type { Rejection } from "./verification_error.ts";

/** State key of the current rejection (JSON), shown by `status`, `plan` and the status page. */
export const VERIFICATION_REJECTED_KEY = "verification_rejected";

/** A rejection as kept in the state database. */
export interface RecordedRejection extends Rejection {
  at: number;
  /** The target, settings and key file content it was refused under. */
  stamp: string;
}

/** The rejection kept in the state database, if the last verification failed. */
export function recordedRejection(
  store: StateStore,
): RecordedRejection | undefined {
  const text = store.notificationState(VERIFICATION_REJECTED_KEY);
  return text === undefined ? undefined : JSON.parse(text);
}
