/**
 * The words the configuration files may use: the keys of each file, the
 * notification events and formats, the sync modes. Kept apart from the parser
 * so that notification code can name events and formats without importing it.
 */
import type { SyncMode } from "./types.ts";

/** Top-level keys of `.upstream-watch.yaml`. */
export const REPO_KEYS = [
  "single_directory_mode",
  "retry_interval",
  "ignore_folders",
  "remote",
  "branch",
  "sync",
  "state_file",
  "command_timeout",
  "max_attempts",
  "retry_backoff",
  "parallel",
  "history_limit",
  "notify",
  "webhook",
  "verify",
  "commit_status",
  "public_url",
] as const;

/** A top-level key of `.upstream-watch.yaml`. */
export type RepoKey = (typeof REPO_KEYS)[number];

/** Top-level keys of a service's `.update-hooks.yaml`. */
export const SERVICE_KEYS = [
  "pre_update_commands",
  "update_commands",
  "post_update_commands",
  "on_failure_commands",
  "on_remove_commands",
  "timeout",
  "depends_on",
  "watch_paths",
  "hosts",
  "env",
  "health_commands",
  "health_timeout",
  "health_interval",
  "rollback",
  "check_interval",
  "secrets",
  "env_from",
] as const;

/** A top-level key of `.update-hooks.yaml`. */
export type ServiceKey = (typeof SERVICE_KEYS)[number];

/** Keys of one `notify:` entry. */
export const NOTIFY_KEYS = ["url", "url_file", "events", "format"] as const;

/** Keys of the `webhook:` mapping. */
export const WEBHOOK_KEYS = [
  "listen",
  "secret",
  "secret_file",
  "insecure",
  "read_token",
  "read_token_file",
  "admin_token",
  "max_connections",
  "header_timeout",
  "body_timeout",
  "idle_timeout",
] as const;

/** Events a notify target may subscribe to (docs/notifications.md). */
export const NOTIFY_EVENTS = [
  "deploy_succeeded",
  "deploy_failed",
  "recovered",
  "sync_failed",
  "service_removed",
  "state_lost",
  "rolled_back",
  "unhealthy",
  "healed",
  "verification_failed",
  "state_unwritable",
  "config_invalid",
  "rewound",
  "verification_reset",
] as const;

/** An event a notify target may subscribe to. */
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

/** Message formats a notify target may force (docs/notifications.md). */
export const NOTIFY_FORMATS = [
  "json",
  "ntfy",
  "gotify",
  "discord",
  "slack",
] as const;

/** A message format of a notify target. */
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/** Values of `sync` (docs/design.md#sync). */
export const SYNC_MODES: readonly SyncMode[] = ["ff-only", "reset"];
