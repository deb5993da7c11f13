/** The notifier of the commands that deploy, built from the app's configuration. */
import type { App } from "../app.ts";
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
    file: app.configFile,
    targets: app.config.notify,
    store: app.store,
    logger: app.logger,
    host: app.host,
    configuredTargets: options.followConfig
      ? () => app.agent.config.notify
      : undefined,
  });
}
