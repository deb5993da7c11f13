/**
 * What the configuration holds when a key is not written: every default of
 * `.upstream-watch.yaml` in one place, beside the types in types.ts.
 */
import type { RepoConfig } from "./types.ts";

/** Seconds between polls when `retry_interval` is omitted. */
export const DEFAULT_RETRY_INTERVAL = 60;

/** Listen address of the webhook server when `webhook.listen` is omitted. */
export const DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:9000";

/** Returns the repository configuration with every default applied. */
export function defaultRepoConfig(): RepoConfig {
  return {
    singleDirectoryMode: false,
    retryInterval: DEFAULT_RETRY_INTERVAL,
    ignoreFolders: [".git"],
    sync: "ff-only",
    stateFile: ".upstream-watch.sqlite",
    commandTimeout: 3600,
    maxAttempts: 3,
    retryBackoff: defaultRetryBackoff(DEFAULT_RETRY_INTERVAL),
    parallel: 1,
    historyLimit: 1000,
    notify: [],
  };
}

/** `retry_backoff` when omitted: the poll interval, whatever `retry_interval` is set to. */
export function defaultRetryBackoff(retryInterval: number): number {
  return retryInterval;
}
