/**
 * Opening what every command reads: finds the repository, loads its
 * configuration, opens the state (with the start-up work) and settles the
 * settings in effect. Commands that only read the state stop here; the
 * composition root builds the agent on top (compose.ts).
 * @module
 */
import { resolve } from "node:path";
import { ConfigInEffect } from "../config/config_in_effect.ts";
import {
  type ConfigWarning,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { GitClient } from "../git/git_client.ts";
import {
  type BranchUpstream,
  branchUpstream,
  repoInfo,
} from "../git/repository.ts";
import { headCommitFromFiles } from "../git/head_file.ts";
import { agentLogger } from "../log/logging.ts";
import { MemoryPressure } from "../process/memory.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { AgentDeps } from "../reconcile/agent_deps.ts";
import { acquireInstanceLock } from "../state/instance_lock.ts";
import type { LostStatePolicy } from "../state/state_marker.ts";
import { recordStatePath } from "../state/config_record.ts";
import { fileExists } from "../state/file_identity.ts";
import type { StateStore } from "../state/store.ts";
import { openStateAtStart } from "./start_up.ts";
import {
  configLocation,
  fallbackStatePath,
  lastGoodStartupConfig,
  recordStartupConfig,
  type StartupConfig,
  startupConfig,
  type StartupSource,
} from "./startup_config.ts";
import {
  adoptDaemonSettings,
  type EffectiveSettings,
  type OwnSettings,
} from "./daemon_settings.ts";
import { daemonRecord } from "../state/daemon_record.ts";

export type { EffectiveSettings } from "./daemon_settings.ts";

/** Global command-line options (docs/commands.md#global-options). */
export interface GlobalOptions {
  repo?: string;
  config?: string;
  host?: string;
  /** `--allowed-signers PATH`: turns SSH signature verification on whatever the repository says. */
  allowedSigners?: string;
  /** `--age-key-file PATH`: age identities for services' SOPS files (besides `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`). */
  ageKeyFile?: string;
}

/** Options of {@link openState} (and so of `openApp`). */
export interface OpenAppOptions {
  /** Read-only commands never create or change the state file. */
  readOnly: boolean;
  /** Take the one-instance lock (run, deploy, adopt). */
  lock?: boolean;
  /** A state file that went missing or empty is refused unless this says otherwise (`--fresh-state`, `adopt`). */
  lostState?: LostStatePolicy;
  /** Mark runs left `running` as interrupted (default true); a writer beside the daemon (`suspend`) must not. */
  recoverRuns?: boolean;
  /** Resolve every `${VAR}` and path of the configuration at start (default: commands that take the lock). */
  resolveConfig?: boolean;
  /** A configuration at HEAD that cannot be used falls back to the last good one (default true; `validate` reports it instead). */
  configFallback?: boolean;
  /** Use only this command's own flags and environment, never the daemon's recorded settings (`run`: it is the daemon). */
  ownSettings?: boolean;
}

/**
 * The repository, its state and the settings in effect: what `history` and
 * `logs` need, and the part of the agent's dependencies that does not build
 * an agent (no verifier, secrets or hook runner).
 */
export interface StateApp extends
  Pick<
    AgentDeps,
    | "git"
    | "store"
    | "logger"
    | "now"
    | "repoRoot"
    | "gitDir"
    | "config"
    | "host"
    | "remote"
    | "branch"
  > {
  /** Absolute common git dir (shared by worktrees). */
  gitCommonDir: string;
  /** Starts git and the commands the agent itself needs (not marked as a run's hooks). */
  runner: ProcessRunner;
  /** Warnings about the repository configuration (already logged). */
  configWarnings: ConfigWarning[];
  /** Told when memory could be given back (hook output, webhook bodies); the daemon loop collects it. */
  memory: MemoryPressure;
  /** The settings a daemon records for the other commands (docs/design.md#the-daemons-settings). */
  settings: EffectiveSettings;
  [Symbol.dispose](): void;
}

/** Finds the repository, loads its configuration, opens the state and settles the settings in effect. */
export async function openState(
  globals: GlobalOptions,
  options: OpenAppOptions,
): Promise<StateApp> {
  const logger = agentLogger();
  const memory = new MemoryPressure();
  const runner = new DenoProcessRunner({ memory });
  const startDir = resolve(globals.repo ?? ".");
  const probe = new GitClient(runner, { cwd: startDir });
  const info = await repoInfo(probe);
  const git = new GitClient(runner, { cwd: info.root });

  // The branch's upstream does not depend on the configuration: its git
  // processes run while the configuration is read. Its error, if any, is
  // reported after the configuration's own, as when they ran in turn.
  const upstream = info.branch
    ? branchUpstream(git, info.branch)
    : Promise.resolve(undefined);
  upstream.catch(() => {});
  const sourceFor = async (
    configOption: string | undefined,
  ): Promise<StartupSource> => ({
    git,
    logger,
    config: await configLocation(info.root, configOption),
    repoRoot: info.root,
  });
  let source = await sourceFor(globals.config);
  const resolveConfig = options.resolveConfig ?? options.lock ?? false;
  const started = await startupConfig(source, { resolve: resolveConfig });
  if (started.kind === "refused" && options.configFallback === false) {
    throw started.error;
  }
  const statePath = started.kind === "loaded"
    ? resolve(info.root, started.config.stateFile)
    : fallbackStatePath(info.root, info.gitDir);
  // Without a state file there is no last good configuration to fall back to.
  if (started.kind === "refused" && !fileExists(statePath)) {
    throw started.error;
  }
  const own = ownSettings(globals);
  let settings: EffectiveSettings = own;

  // The lock comes first: a second instance must not touch the first one's running runs.
  const lock = options.lock ? acquireInstanceLock(info.gitDir) : undefined;
  if (lock?.takenOverFrom) {
    logger.warn(
      "took over the lock left by pid {pid}, which is no longer running",
      { pid: lock.takenOverFrom },
    );
  }
  let store: StateStore;
  let config: RepoConfig;
  let warnings = started.kind === "loaded" ? started.warnings : [];
  let remote: string;
  let branch: string;
  try {
    ({ store, config } = await openStateAtStart({
      file: statePath,
      repoRoot: info.root,
      gitDir: info.gitDir,
      gitCommonDir: info.gitCommonDir,
      readOnly: options.readOnly,
      lostState: options.lostState ?? "refuse",
      recoverRuns: options.recoverRuns !== false,
      git,
      config: (opened) =>
        settleStartupConfig(opened, {
          started,
          source,
          resolve: resolveConfig,
          head: async () =>
            headCommitFromFiles(info.gitDir) ??
              (await git.revParse(["HEAD"]))[0],
        }),
      logger,
    }));
  } catch (error) {
    lock?.[Symbol.dispose]();
    throw error;
  }
  try {
    if (!store.readOnly) recordStatePath(info.gitDir, statePath);
    ({ remote, branch } = resolveUpstream(config, info.branch, await upstream));
  } catch (error) {
    store.close();
    lock?.[Symbol.dispose]();
    throw error;
  }
  if (!options.ownSettings) {
    const adopted = adoptDaemonSettings(own, daemonRecord(store));
    settings = adopted.settings;
    if (adopted.differences.length > 0) {
      logger.info(
        "using the settings the daemon was started with: {differences}; give the flag to use another",
        { differences: adopted.differences.join(", ") },
      );
    }
    if (settings.config !== own.config) {
      try {
        source = await sourceFor(settings.config ?? undefined);
        const daemons = await startupConfig(source, {
          resolve: resolveConfig,
        });
        if (daemons.kind === "refused") throw daemons.error;
        ({ config, warnings } = daemons);
        ({ remote, branch } = resolveUpstream(
          config,
          info.branch,
          await upstream,
        ));
      } catch (error) {
        store.close();
        lock?.[Symbol.dispose]();
        throw error;
      }
    }
  }
  return {
    git,
    store,
    logger,
    now: Date.now,
    repoRoot: info.root,
    gitDir: info.gitDir,
    gitCommonDir: info.gitCommonDir,
    config: new ConfigInEffect(config, source.config),
    host: settings.host,
    remote,
    branch,
    runner,
    configWarnings: warnings,
    memory,
    settings,
    [Symbol.dispose]: () => {
      store.close();
      lock?.[Symbol.dispose]();
    },
  };
}

/**
 * The configuration a command starts with once its state file is open: the
 * one at HEAD (recorded as the last good one when resolved), or the last good
 * one in the state file when HEAD's is refused.
 */
async function settleStartupConfig(
  store: StateStore,
  options: {
    started: StartupConfig;
    source: StartupSource;
    resolve: boolean;
    head: () => Promise<string>;
  },
): Promise<RepoConfig> {
  const { started } = options;
  if (started.kind === "refused") {
    return lastGoodStartupConfig(store, options.source, {
      head: await options.head(),
      error: started.error,
      resolve: options.resolve,
    });
  }
  // Only a resolved configuration is a good one (`suspend` only parses).
  if (options.resolve) {
    await recordStartupConfig(store, {
      head: options.head,
      text: started.text,
    });
  }
  return started.config;
}

/** The command's own host, `--config` and signature override, from its flags and environment. */
function ownSettings(globals: GlobalOptions): OwnSettings {
  const signers = globals.allowedSigners ??
    (Deno.env.get("UPSTREAM_WATCH_ALLOWED_SIGNERS") || undefined);
  return {
    host: globals.host ?? Deno.env.get("UPSTREAM_WATCH_HOST") ??
      Deno.hostname(),
    config: globals.config ? resolve(globals.config) : null,
    allowedSigners: signers === undefined ? null : {
      path: resolve(signers),
      source: globals.allowedSigners !== undefined
        ? "--allowed-signers"
        : "UPSTREAM_WATCH_ALLOWED_SIGNERS",
    },
    explicit: {
      host: globals.host !== undefined,
      config: globals.config !== undefined,
      allowedSigners: globals.allowedSigners !== undefined,
    },
  };
}

/** `remote` defaults to the branch's upstream remote, else origin; `branch` to the branch's upstream (docs/configuration.md). */
function resolveUpstream(
  config: RepoConfig,
  currentBranch: string | undefined,
  upstream: BranchUpstream | undefined,
): { remote: string; branch: string } {
  const remote = config.remote ?? upstream?.remote ?? "origin";
  const branch = config.branch ?? upstream?.branch ?? currentBranch;
  if (!branch) {
    throw new ConfigError(
      "HEAD is detached and no branch is configured; set branch: or check out a branch",
      { file: REPO_CONFIG_FILE, key: "branch" },
    );
  }
  return { remote, branch };
}
