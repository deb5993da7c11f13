/** Commit statuses on the git host, wired to the app's configuration and remote. */
import type { App } from "./compose.ts";
import type { StatusTarget } from "../commit_status/provider_request.ts";
import {
  CommitStatusReporter,
  resolveStatusTargets,
} from "../commit_status/reporter.ts";
import type { CommitStatusTarget } from "../config/commit_status_config.ts";
import { eventContext } from "./notifier.ts";

/** The `commit_status:` entries with tokens expanded and repository and API worked out from the remote (exit 2 when one cannot be). */
export async function commitStatusTargets(
  app: App,
  configured: readonly CommitStatusTarget[] = app.config.current.commitStatus ??
    [],
): Promise<StatusTarget[]> {
  return (await commitStatusResolver(app))(configured);
}

async function commitStatusResolver(
  app: App,
): Promise<(targets: readonly CommitStatusTarget[]) => StatusTarget[]> {
  const { stdout } = await app.git.git(
    ["config", "--get", `remote.${app.remote}.url`],
    { okExitCodes: [1] },
  );
  const remoteUrl = stdout.trim() || undefined;
  return (targets) =>
    resolveStatusTargets(targets, {
      env: (name) => Deno.env.get(name),
      file: app.config.file,
      remoteUrl,
      host: app.host,
    });
}

/**
 * Reports the agent's runs on the git host. Tokens are expanded now, so a
 * missing variable is exit 2 before anything runs; the targets follow
 * `commit_status:` as the agent reloads its configuration, so it may be
 * configured (or changed) by a commit the agent fetches.
 */
export async function attachCommitStatus(
  app: App,
): Promise<CommitStatusReporter> {
  const resolve = await commitStatusResolver(app);
  const reporter = new CommitStatusReporter({
    targets: resolve(app.config.current.commitStatus ?? []),
    host: app.host,
    publicUrl: () => app.config.current.publicUrl,
    logger: app.logger,
    configured: () => app.config.current.commitStatus,
    resolve,
    commit: eventContext(app).commit,
  });
  app.runListeners.push(reporter);
  return reporter;
}
