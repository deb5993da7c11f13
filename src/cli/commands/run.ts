import type { App } from "../../app.ts";
import { ExitCode } from "../../errors.ts";
import { runDaemon } from "../../reconcile/daemon.ts";
import { listenForShutdown } from "../signals.ts";

/** `run [--once] [--interval S]`: the poll loop, or one cycle. */
export async function runCommand(
  app: App,
  options: { once: boolean; interval?: number },
): Promise<number> {
  using shutdown = listenForShutdown(app.logger);
  if (options.once) {
    const result = await app.agent.runCycle({
      trigger: "poll",
      signal: shutdown.kill,
    });
    return result.failed ? ExitCode.updateFailed : ExitCode.ok;
  }
  app.logger.info(
    "watching {remote}/{branch} in {repo} every {interval} s as host {host}",
    {
      remote: app.remote,
      branch: app.branch,
      repo: app.repoRoot,
      interval: options.interval ?? app.agent.config.retryInterval,
      host: app.host,
    },
  );
  await runDaemon(app.agent, {
    intervalSeconds: options.interval,
    stop: shutdown.stop,
    kill: shutdown.kill,
    logger: app.logger,
  });
  app.logger.info("stopped");
  return ExitCode.ok;
}
