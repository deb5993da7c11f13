/** Reporting a service that left the repository, and running its `on_remove_commands` (docs/design.md#removed-services). */

import { join } from "node:path";
import { readCommittedConfig } from "../config/committed.ts";
import { configEnvReferences } from "../config/env_references.ts";
import { parseServiceConfig } from "../config/load.ts";
import { SERVICE_CONFIG_FILE, type ServiceConfig } from "../config/types.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import { shortCommit } from "../git/commit_id.ts";
import type { GitClient } from "../git/git_client.ts";
import { removeDecryptedSecrets } from "../hooks/decrypt_step.ts";
import { runRemoveCommands } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { RunReason, ServiceRecord, Trigger } from "../state/types.ts";
import type { RunContext } from "./run_service.ts";

/** What {@link reportRemoved} works with: the context every run shares, the cycle's commit, trigger and signal. */
export interface ReportRemovedOptions extends RunContext {
  /** The commit the cycle moved to. */
  head: string;
  trigger: Trigger;
  /** Aborted: kill the running command (with its children) and record it `interrupted`. */
  signal?: AbortSignal;
}

/** A removed service is reported once; its `on_remove_commands` run from a copy of its last deployed files. */
export async function reportRemoved(
  record: ServiceRecord,
  options: ReportRemovedOptions,
): Promise<void> {
  const { git, store, logger, now, head, recorder } = options;
  const deployed = record.deployedCommit!;
  logger.warn(
    "service_removed: {service} is no longer in the repository (last deployed {commit}); its state is kept",
    { service: record.name, commit: shortCommit(deployed) },
  );
  const config = await removedConfig(record.name, deployed, options);
  await removeSecrets(record.name, config, options);
  const commands = config?.onRemoveCommands ?? [];
  if (commands.length === 0) {
    store.markRemoved(record.name, now());
    return;
  }
  const reason: RunReason = { kind: "removed", deployedCommit: deployed };
  const runId = store.startRun({
    service: record.name,
    trigger: options.trigger,
    fromCommit: deployed,
    toCommit: head,
    startedAt: now(),
    reason,
  });
  const copy = await Deno.makeTempDir({ prefix: "upstream-watch-removed-" });
  try {
    await git.exportFolder(deployed, record.name, copy);
    const outcome = await runRemoveCommands({
      service: record.name,
      cwd: join(copy, record.name),
      commands,
      agentEnv: recorder.env(record.name, head, deployed, {
        trigger: options.trigger,
        runId,
      }),
      withheldEnv: configEnvReferences(options.config),
      timeoutMs: options.config.commandTimeout * 1000,
      signal: options.signal,
      runner: options.runner,
      logger,
      now,
      onCommandStarted: (group) => store.recordProcessGroup(runId, group),
      onCommandFinished: (command) => store.recordCommand(runId, command),
    });
    recorder.finish(runId, record.name, reason, outcome);
  } catch (error) {
    recorder.finish(runId, record.name, reason, {
      kind: "failed",
      step: "on_remove",
      command: "",
      exitCode: null,
      timedOut: false,
      message: `cannot prepare the removed service's files: ${
        errorMessage(error)
      }`,
    });
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
  store.markRemoved(record.name, now());
}

/** The decrypted files of the removed service go with it: nothing decrypts them again. */
async function removeSecrets(
  service: string,
  config: ServiceConfig | undefined,
  options: { repoRoot: string; logger: Logger },
): Promise<void> {
  if (!config?.secrets?.length) return;
  try {
    const removed = await removeDecryptedSecrets(config, {
      repoRoot: options.repoRoot,
      dir: service,
    });
    for (const file of removed) {
      options.logger.info("removed the decrypted {file}", { service, file });
    }
  } catch (error) {
    options.logger.warn("cannot remove the decrypted secrets: {error}", {
      service,
      error: errorMessage(error),
    });
  }
}

async function removedConfig(
  service: string,
  deployed: string,
  options: { git: GitClient; logger: Logger },
): Promise<ServiceConfig | undefined> {
  const file = `${service}/${SERVICE_CONFIG_FILE}`;
  try {
    const display = `${file}@${shortCommit(deployed)}`;
    const text = await readCommittedConfig(
      options.git,
      deployed,
      file,
      display,
    );
    if (text === undefined) {
      throw new ConfigError("file not found", { file: display });
    }
    return parseServiceConfig(text, display).config;
  } catch (error) {
    options.logger.warn(
      "cannot read {file} at {commit}: {error}; no on_remove_commands run",
      {
        service,
        file,
        commit: shortCommit(deployed),
        error: errorMessage(error),
      },
    );
    return undefined;
  }
}
