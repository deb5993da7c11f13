/** The notifier of the commands that deploy, built from the app's configuration. */
import type { App } from "./compose.ts";
import { createNotifier } from "../notify/notifier.ts";

/** How long queued notifications may still be delivered when the agent exits. */
export const NOTIFY_FLUSH_MS = 5_000;

/**
 * The notifier of `run` and `deploy`, built from the app's configuration.
 * `followConfig`: targets follow `notify:` as the repository configuration is
 * reloaded (the daemon); otherwise they stay as loaded.
 */
export function appNotifier(
  app: App,
  options: { followConfig: boolean },
): ReturnType<typeof createNotifier> {
  return createNotifier({
    file: app.config.file,
    targets: app.config.current.notify,
    store: app.store,
    logger: app.logger,
    host: app.host,
    configuredTargets: options.followConfig
      ? () => app.config.current.notify
      : undefined,
  });
}
