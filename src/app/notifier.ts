/** The notifier of the commands that deploy, built from the app's configuration. */
import type { App } from "./compose.ts";
import { createNotifier } from "../notify/notifier.ts";
import type { EventContextSource } from "../notify/event_context.ts";

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
    context: eventContext(app),
  });
}

/** Commits remembered for notifications (commits never change). */
const COMMIT_CACHE_SIZE = 200;

/** One source per app: notifications and commit statuses share its cache. */
const sources = new WeakMap<App["git"], EventContextSource>();

/** Commit subjects and authors from git, cached, and the configured `public_url`. */
export function eventContext(
  app: Pick<App, "git" | "agent">,
): EventContextSource {
  const existing = sources.get(app.git);
  if (existing) return existing;
  const cache = new Map<string, { subject: string; author: string }>();
  const source: EventContextSource = {
    publicUrl: () => app.agent.config.publicUrl,
    commit: async (id) => {
      const cached = cache.get(id);
      if (cached) return cached;
      const { stdout } = await app.git.git([
        "show",
        "-s",
        "--format=%s%x00%an <%ae>",
        id,
        "--",
      ]);
      const [subject, author] = stdout.replace(/\n$/, "").split("\0");
      const found = { subject, author: author ?? "" };
      if (cache.size >= COMMIT_CACHE_SIZE) cache.clear();
      cache.set(id, found);
      return found;
    },
  };
  sources.set(app.git, source);
  return source;
}
