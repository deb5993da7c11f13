/** The `notification_state` table: values the notifier keeps across restarts. */
import type { StateStore } from "./store.ts";

/** The part of the store these functions write through. */
type Store = Pick<StateStore, "statement" | "transaction">;

/** A value the notifier stored under `key`, if set. */
export function readNotificationState(
  store: Store,
  key: string,
): string | undefined {
  const row = store.statement(
    "SELECT value FROM notification_state WHERE key = ?",
  ).get(key) as { value: string } | undefined;
  return row?.value;
}

/** Sets a notifier value. */
export function writeNotificationState(
  store: Store,
  key: string,
  value: string,
  now: number,
): void {
  store.transaction(() => {
    store.statement(
      `INSERT INTO notification_state (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    ).run(key, value, now);
  });
}

/** Removes a notifier value. */
export function deleteNotificationState(store: Store, key: string): void {
  store.transaction(() => {
    store.statement("DELETE FROM notification_state WHERE key = ?").run(key);
  });
}
