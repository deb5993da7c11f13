import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app/compose.ts";
import { attachCommitStatus } from "../../app/commit_status.ts";
import { appNotifier, NOTIFY_FLUSH_MS } from "../../app/notifier.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import { shortCommit } from "../../git/commit_id.ts";
import type { Output } from "../output.ts";
import { listenForShutdown } from "../signals.ts";
import { refuseSuspended } from "./suspend.ts";

/** `deploy SERVICE... | --all`: runs the update now at HEAD, due or not (trigger `manual`). */
export async function deployCommand(
  app: App,
  options: { services: string[]; all: boolean; force?: boolean },
  output: Output,
): Promise<number> {
  const names = selection(options);
  if (!options.force) await refuseSuspended(app, names);
  const { notifier, queue } = appNotifier(app, { followConfig: false });
  const statuses = await attachCommitStatus(app);
  using shutdown = listenForShutdown(app.logger);
  let result;
  try {
    result = await app.agent.deploy(names, {
      trigger: "manual",
      stop: shutdown.stop,
      signal: shutdown.kill,
      force: options.force,
    });
    notifier.runsFinished(result);
  } finally {
    await Promise.all([
      queue.close(NOTIFY_FLUSH_MS),
      statuses.close(NOTIFY_FLUSH_MS),
    ]);
  }
  for (const run of result.runs) {
    output.out(
      escapeControl(
        `${run.service}: ${run.outcome} (run ${run.runId})${
          run.error ? `: ${run.error}` : ""
        }`,
      ) + "\n",
    );
  }
  return result.failed ? ExitCode.updateFailed : ExitCode.ok;
}

/** `adopt [SERVICE...]`: records services as deployed at HEAD without running commands. */
export async function adoptCommand(
  app: App,
  options: { services: string[] },
  output: Output,
): Promise<number> {
  const { head, services } = await app.agent.adopt(
    options.services.length > 0 ? options.services : "all",
  );
  output.out(
    services.length === 0 ? "no services to adopt\n" : escapeControl(
      `adopted at ${shortCommit(head)}: ${services.join(", ")}`,
    ) + "\n",
  );
  return ExitCode.ok;
}

function selection(
  options: { services: string[]; all: boolean },
): string[] | "all" {
  if (options.all && options.services.length > 0) {
    throw new UsageError("deploy takes service names or --all, not both");
  }
  if (options.all) return "all";
  if (options.services.length === 0) {
    throw new UsageError("deploy needs service names or --all");
  }
  return options.services;
}
