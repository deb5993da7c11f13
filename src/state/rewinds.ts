/** The last time `sync: reset` moved the work tree to a commit that does not descend from the deployed one. */
import type { StateStore } from "./store.ts";

/** State key of the last rewind (JSON). */
const LAST_REWIND_KEY = "last_rewind";

/** One rewind as kept. */
export interface Rewind {
  from: string;
  to: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Records a rewind, replacing the previous one. */
export function recordRewind(
  store: Pick<StateStore, "setNotificationState">,
  rewind: Rewind,
): void {
  store.setNotificationState(
    LAST_REWIND_KEY,
    JSON.stringify(rewind),
    rewind.at,
  );
}

/** The last rewind, if the work tree was ever rewound. */
export function lastRewind(
  store: Pick<StateStore, "notificationState">,
): Rewind | undefined {
  const text = store.notificationState(LAST_REWIND_KEY);
  return text === undefined ? undefined : JSON.parse(text);
}
