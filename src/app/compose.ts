/**
 * The composition root: finds the repository, loads its configuration, opens
 * the state, runs the start-up work and builds the agent from one set of
 * adapters.
 * @module
 */
import { join, resolve } from "node:path";
import { ConfigInEffect } from "../config/config_in_effect.ts";
import { loadCommittedRepoConfig } from "../config/committed.ts";
import { loadRepoConfig } from "../config/load.ts";
import {
  type ConfigWarning,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "../config/types.ts";
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError } from "../errors.ts";
import { GitClient } from "../git/git_client.ts";
import {
  type BranchUpstream,
  branchUpstream,
  repoInfo,
} from "../git/repository.ts";
import { logConfigWarnings } from "../log/config_warnings.ts";
import type { SecretsHost } from "../hooks/decrypt_step.ts";
import { secretsHost } from "./secrets_host.ts";
import { agentLogger, type Logger } from "../log/logging.ts";
import { MemoryPressure } from "../process/memory.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import { Agent, type AgentDeps } from "../reconcile/agent.ts";
import type { RunListener } from "../results/run_listener.ts";
import { acquireInstanceLock } from "../state/instance_lock.ts";
import type { LostStatePolicy } from "../state/state_marker.ts";
import type { StateStore } from "../state/store.ts";
import { checkKeyOutsideWorkTree, CommitVerifier } from "../verify/verifier.ts";
import { openStateAtStart } from "./start_up.ts";
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

/** The real adapters, built once per command: the agent's dependencies and the agent. */
export interface App extends AgentDeps {
  agent: Agent;
  /** The host's SOPS keys (docs/secrets.md). */
  secrets: SecretsHost;
  /** Warnings about the repository configuration (already logged). */
  configWarnings: ConfigWarning[];
  /** Signed-commit verification (its `enabled` says whether it is on). */
  verifier: CommitVerifier;
  /** Told when each of the agent's runs starts and ends; commands that deploy add to it. */
  runListeners: RunListener[];
  /** Told when memory could be given back (hook output, webhook bodies); the daemon loop collects it. */
  memory: MemoryPressure;
  /** The settings a daemon records for the other commands (docs/design.md#the-daemons-settings). */
  settings: EffectiveSettings;
  [Symbol.dispose](): void;
}

/** Options of {@link openApp}. */
export interface OpenAppOptions {
  /** Read-only commands never create or change the state file. */
  readOnly: boolean;
  /** Take the one-instance lock (run, deploy, adopt). */
  lock?: boolean;
  /** A state file that went missing or empty is refused unless this says otherwise (`--fresh-state`, `adopt`). */
  lostState?: LostStatePolicy;
  /** Mark runs left `running` as interrupted (default true); a writer beside the daemon (`suspend`) must not. */
  recoverRuns?: boolean;
  /** Use only this command's own flags and environment, never the daemon's recorded settings (`run`: it is the daemon). */
  ownSettings?: boolean;
}

/** Composition root: finds the repository, loads its configuration, opens the state and builds the agent. */
export async function openApp(
  globals: GlobalOptions,
  options: OpenAppOptions,
): Promise<App> {
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
  let { config, warnings } = await loadConfig(
    git,
    info.root,
    globals.config,
    logger,
  );
  const upstreamOfBranch = await upstream;
  let { remote, branch } = resolveUpstream(
    config.current,
    info.branch,
    upstreamOfBranch,
  );
  const own = ownSettings(globals);
  let settings: EffectiveSettings = own;

  const secrets = secretsHost(globals, runner, info);
  // The lock comes first: a second instance must not touch the first one's running runs.
  const lock = options.lock ? acquireInstanceLock(info.gitDir) : undefined;
  if (lock?.takenOverFrom) {
    logger.warn(
      "took over the lock left by pid {pid}, which is no longer running",
      { pid: lock.takenOverFrom },
    );
  }
  const statePath = resolve(info.root, config.current.stateFile);
  let store: StateStore;
  try {
    store = await openStateAtStart({
      file: statePath,
      repoRoot: info.root,
      gitDir: info.gitDir,
      gitCommonDir: info.gitCommonDir,
      readOnly: options.readOnly,
      lostState: options.lostState ?? "refuse",
      recoverRuns: options.recoverRuns !== false,
      git,
      config: config.current,
      logger,
    });
  } catch (error) {
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
        ({ config, warnings } = await loadConfig(
          git,
          info.root,
          settings.config ?? undefined,
          logger,
        ));
        ({ remote, branch } = resolveUpstream(
          config.current,
          info.branch,
          upstreamOfBranch,
        ));
      } catch (error) {
        store.close();
        lock?.[Symbol.dispose]();
        throw error;
      }
    }
  }
  const host = settings.host;
  const verifier = verifierFor(settings.allowedSigners, {
    git,
    runner,
    store,
    logger,
    repoRoot: info.root,
    config,
  });
  const deps = {
    secrets,
    git,
    store,
    runner,
    logger,
    now: Date.now,
    repoRoot: info.root,
    gitDir: info.gitDir,
    config,
    host,
    remote,
    branch,
    verifier,
    runListeners: [] as RunListener[],
  };
  return {
    ...deps,
    agent: new Agent(deps),
    configWarnings: warnings,
    memory,
    settings,
    [Symbol.dispose]: () => {
      verifier.closeSync();
      store.close();
      lock?.[Symbol.dispose]();
    },
  };
}

/** The verifier with the command line's `--allowed-signers` (or its variable) over the repository's `verify:`. */
function verifierFor(
  signers: EffectiveSettings["allowedSigners"],
  options: {
    git: GitClient;
    runner: DenoProcessRunner;
    store: StateStore;
    logger: Logger;
    repoRoot: string;
    /** The verifier follows the configuration in effect, which is reloaded as HEAD moves. */
    config: ConfigInEffect;
  },
): CommitVerifier {
  const commandLine: VerifyConfig | undefined = signers === null
    ? undefined
    : { kind: "ssh", path: signers.path, mode: "head", source: signers.source };
  const location = {
    repoRoot: options.repoRoot,
    file: commandLine ? commandLine.source : options.config.file,
  };
  const repository = () => {
    const config = options.config.current.verify;
    if (config && !commandLine) checkKeyOutsideWorkTree(config, location);
    return config;
  };
  if (commandLine) checkKeyOutsideWorkTree(commandLine, location);
  repository();
  return new CommitVerifier({
    git: options.git,
    runner: options.runner,
    store: options.store,
    now: Date.now,
    commandLine,
    repository,
    onKept: (line) => options.logger.warn("{line}", { line }),
  });
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

async function loadConfig(
  git: GitClient,
  root: string,
  configOption: string | undefined,
  logger: Logger,
): Promise<{ config: ConfigInEffect; warnings: ConfigWarning[] }> {
  const configPath = configOption
    ? resolve(configOption)
    : join(root, REPO_CONFIG_FILE);
  const configDisplay = configOption ?? REPO_CONFIG_FILE;
  if (configOption) {
    try {
      await Deno.stat(configPath);
    } catch {
      throw new ConfigError("configuration file not found", {
        file: configDisplay,
      });
    }
  }
  // Without --config the repository's own configuration is read from HEAD's
  // git objects: what is in the work tree may be in no commit.
  const { config, warnings } = configOption
    ? await loadRepoConfig(configPath, configDisplay)
    : await loadCommittedRepoConfig(git, "HEAD");
  logConfigWarnings(logger, warnings);
  const location = {
    path: configPath,
    file: configDisplay,
    fromGit: !configOption,
  };
  return { config: new ConfigInEffect(config, location), warnings };
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
