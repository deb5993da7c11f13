/** SPEC §4: reporting a service that left the repository, and running its `on_remove_commands`. */

import { join } from "node:path";
import { readCommittedConfig } from "../config/committed.ts";
import { configEnvReferences } from "../config/env_references.ts";
import { parseServiceConfig } from "../config/load.ts";
import {
  type HookCommand,
  type RepoConfig,
  SERVICE_CONFIG_FILE,
} from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import { runHookSteps, type StepsOutcome } from "../hooks/run_steps.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type { RunReason, ServiceRecord, Trigger } from "../state/types.ts";

/** What {@link reportRemoved} works with; `agentEnv` and `finish` are the agent's, so every run gets the same environment and is recorded the same way. */
export interface ReportRemovedOptions {
  /** The commit the cycle moved to. */
  head: string;
  trigger: Trigger;
  /** Aborted: kill the running command (with its children) and record it `interrupted`. */
  signal?: AbortSignal;
  git: GitClient;
  store: StateStore;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  config: RepoConfig;
  /** The `UPSTREAM_WATCH_*` variables of a run. */
  agentEnv: (
    service: string,
    commit: string,
    previous: string | null,
    run: { trigger: Trigger; runId: number },
  ) => Record<string, string>;
  /** Records how a run ended; a `removed` run keeps the service's last deployed commit. */
  finish: (
    runId: number,
    service: string,
    reason: RunReason,
    outcome: StepsOutcome,
  ) => void;
}

/** SPEC §4: a removed service is reported once; its `on_remove_commands` run from a copy of its last deployed files. */
export async function reportRemoved(
  record: ServiceRecord,
  options: ReportRemovedOptions,
): Promise<void> {
  const { git, store, logger, now, head } = options;
  const deployed = record.deployedCommit!;
  logger.warn(
    "service_removed: {service} is no longer in the repository (last deployed {commit}); its state is kept",
    { service: record.name, commit: deployed.slice(0, 12) },
  );
  const commands = await removeCommands(record.name, deployed, options);
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
    const outcome = await runHookSteps({
      service: record.name,
      cwd: join(copy, record.name),
      config: {
        preUpdateCommands: [],
        updateCommands: [],
        postUpdateCommands: [],
        onFailureCommands: [],
        onRemoveCommands: commands,
        dependsOn: [],
        watchPaths: [],
        env: {},
      },
      steps: [{ step: "on_remove", commands }],
      agentEnv: options.agentEnv(record.name, head, deployed, {
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
    options.finish(runId, record.name, reason, outcome);
  } catch (error) {
    options.finish(runId, record.name, reason, {
      kind: "failed",
      step: "on_remove",
      command: "",
      exitCode: null,
      timedOut: false,
      message: `cannot prepare the removed service's files: ${
        error instanceof Error ? error.message : String(error)
      }`,
    });
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
  store.markRemoved(record.name, now());
}

async function removeCommands(
  service: string,
  deployed: string,
  options: { git: GitClient; logger: Logger },
): Promise<HookCommand[]> {
  const file = `${service}/${SERVICE_CONFIG_FILE}`;
  try {
    const display = `${file}@${deployed.slice(0, 12)}`;
    const text = await readCommittedConfig(
      options.git,
      deployed,
      file,
      display,
    );
    if (text === undefined) {
      throw new ConfigError("file not found", { file: display });
    }
    return parseServiceConfig(text, display).config.onRemoveCommands;
  } catch (error) {
    options.logger.warn(
      "cannot read {file} at {commit}: {error}; no on_remove_commands run",
      {
        service,
        file,
        commit: deployed.slice(0, 12),
        error: error instanceof Error ? error.message : String(error),
      },
    );
    return [];
  }
}
