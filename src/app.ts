import { resolve } from "node:path";
import {
  type ConfigWarning,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "./config/types.ts";
import { ConfigError } from "./errors.ts";
import {
  configLocation,
  fallbackStatePath,
  lastGoodStartupConfig,
  recordStartupConfig,
  startupConfig,
  type StartupSource,
} from "./app/startup_config.ts";
import { headCommitFromFiles } from "./git/head_file.ts";
import { recordStatePath } from "./state/config_record.ts";
import { fileExists } from "./state/file_identity.ts";
import { excludeFromGit } from "./app/git_exclude.ts";
import { MarkingRunner } from "./process/run_marker.ts";
import { type BranchUpstream, GitClient } from "./git/git_client.ts";
import type { SecretsHost } from "./hooks/decrypt_step.ts";
import { stopLeftoverHooks } from "./hooks/leftover_hooks.ts";
import { secretsHost } from "./app/secrets_host.ts";
import { agentLogger, type Logger } from "./log/logging.ts";
import { DenoProcessRunner } from "./process/run_process.ts";
import { Agent } from "./reconcile/agent.ts";
import { acquireInstanceLock } from "./state/instance_lock.ts";
import {
  type LostStatePolicy,
  openGuardedState,
} from "./state/state_marker.ts";
import type { StateStore } from "./state/store.ts";
import type { VerifyConfig } from "./config/verify_config.ts";
import { checkKeyOutsideWorkTree, CommitVerifier } from "./verify/verifier.ts";
import type { RunListener } from "./reconcile/run_listener.ts";
import {
  adoptDaemonSettings,
  type EffectiveSettings,
  type OwnSettings,
} from "./app/daemon_settings.ts";
import { daemonRecord } from "./state/daemon_record.ts";
import { importLegacyState } from "./app/legacy_state.ts";

export type { EffectiveSettings } from "./app/daemon_settings.ts";
import type { ProcessRunner } from "./process/types.ts";

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

/** The real adapters, built once per command. */
export interface App {
  agent: Agent;
  /** The host's SOPS keys (docs/secrets.md). */
  secrets: SecretsHost;
  store: StateStore;
  git: GitClient;
  /** The one way the agent starts processes (git, hooks, health checks). */
  runner: ProcessRunner;
  /** {@link runner} for hook commands: each process carries this state file's run marker. */
  hookRunner: ProcessRunner;
  logger: Logger;
  repoRoot: string;
  /** Absolute path of the repository configuration file (`--config`, else `<repo>/.upstream-watch.yaml`). */
  configPath: string;
  /** The repository configuration file as named in messages. */
  configFile: string;
  /** True when the configuration is `.upstream-watch.yaml` read from git (no `--config`). */
  configFromGit: boolean;
  /** Warnings about the repository configuration (already logged). */
  configWarnings: ConfigWarning[];
  /** This work tree's git dir. */
  gitDir: string;
  config: RepoConfig;
  host: string;
  remote: string;
  branch: string;
  /** Signed-commit verification (its `enabled` says whether it is on). */
  verifier: CommitVerifier;
  /** Told when each of the agent's runs starts and ends; commands that deploy add to it. */
  runListeners: RunListener[];
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
  /** Resolve every `${VAR}` and path of the configuration at start (default: commands that take the lock). */
  resolveConfig?: boolean;
  /** A configuration at HEAD that cannot be used falls back to the last good one (default true; `validate` reports it instead). */
  configFallback?: boolean;
  /** Use only this command's own flags and environment, never the daemon's recorded settings (`run`: it is the daemon). */
  ownSettings?: boolean;
}

/** Composition root: finds the repository, loads its configuration, opens the state and builds the agent. */
export async function openApp(
  globals: GlobalOptions,
  options: OpenAppOptions,
): Promise<App> {
  const logger = agentLogger();
  const runner = new DenoProcessRunner();
  const startDir = resolve(globals.repo ?? ".");
  const probe = new GitClient(runner, { cwd: startDir });
  const info = await probe.repoInfo();
  const git = new GitClient(runner, { cwd: info.root });

  // The branch's upstream does not depend on the configuration: its git
  // processes run while the configuration is read. Its error, if any, is
  // reported after the configuration's own, as when they ran in turn.
  const upstream = info.branch
    ? git.branchUpstream(info.branch)
    : Promise.resolve(undefined);
  upstream.catch(() => {});
  const sourceFor = async (
    configOption: string | undefined,
  ): Promise<StartupSource> => ({
    git,
    logger,
    configFromGit: !configOption,
    ...await configLocation(info.root, configOption),
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

  const secrets = secretsHost(globals, runner, info);
  // The lock comes first: a second instance must not touch the first one's running runs.
  const lock = options.lock ? acquireInstanceLock(info.gitDir) : undefined;
  if (lock?.takenOverFrom) {
    logger.warn(
      "took over the lock left by pid {pid}, which is no longer running",
      { pid: lock.takenOverFrom },
    );
  }
  let store: StateStore | undefined;
  let config: RepoConfig;
  let warnings = started.kind === "loaded" ? started.warnings : [];
  let remote: string;
  let branch: string;
  try {
    if (!options.readOnly) {
      await excludeFromGit(info.root, info.gitCommonDir, statePath);
    }
    store = openGuardedState({
      file: statePath,
      gitDir: info.gitDir,
      readOnly: options.readOnly,
      lostState: options.lostState ?? "refuse",
      logger,
    });
    const head = async () =>
      headCommitFromFiles(info.gitDir) ?? (await git.revParse(["HEAD"]))[0];
    if (started.kind === "refused") {
      config = await lastGoodStartupConfig(store, source, {
        head: await head(),
        error: started.error,
        resolve: resolveConfig,
      });
    } else {
      config = started.config;
      // Only a resolved configuration is a good one (`suspend` only parses).
      if (resolveConfig) {
        await recordStartupConfig(store, { head, text: started.text });
      }
    }
    if (!store.readOnly) recordStatePath(info.gitDir, statePath);
    ({ remote, branch } = resolveUpstream(config, info.branch, await upstream));
  } catch (error) {
    store?.close();
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
  const host = settings.host;
  if (store.legacyModules.length > 0) {
    await importLegacyState(store, git, config, logger);
  }
  if (!options.readOnly && options.recoverRuns !== false) {
    const interrupted = store.markInterruptedRuns(Date.now());
    for (const run of interrupted) {
      logger.warn(
        "run {runId} of {service} was cut off by a crash or kill; marked interrupted, the service will run again",
        { runId: run.id, service: run.service },
      );
    }
    // Before any cycle: a hook that outlived the crash must not run twice at once.
    await stopLeftoverHooks(interrupted, logger, { stateId: store.stateId() });
  }
  const stateId = store.readOnly ? undefined : store.stateId();
  const hookRunner = stateId === undefined
    ? runner
    : new MarkingRunner(runner, stateId);
  const { configPath, configDisplay } = source;
  // The verifier follows the agent's configuration, which is reloaded as HEAD moves.
  const built: { agent?: Agent } = {};
  const runListeners: RunListener[] = [];
  const verifier = verifierFor(settings.allowedSigners, {
    git,
    runner,
    store,
    logger,
    repoRoot: info.root,
    file: configDisplay,
    config: () => built.agent?.config ?? config,
  });
  const agent = new Agent({
    secrets,
    git,
    store,
    runner: hookRunner,
    logger,
    now: Date.now,
    repoRoot: info.root,
    gitDir: info.gitDir,
    configPath,
    configDisplay,
    configFromGit: settings.config === null,
    config,
    host,
    remote,
    branch,
    verifier,
    runListeners,
  });
  built.agent = agent;
  return {
    agent,
    secrets,
    store,
    git,
    runner,
    hookRunner,
    logger,
    repoRoot: info.root,
    gitDir: info.gitDir,
    configPath,
    configFile: configDisplay,
    configFromGit: settings.config === null,
    configWarnings: warnings,
    config,
    host,
    remote,
    branch,
    verifier,
    runListeners,
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
    file: string;
    config: () => RepoConfig;
  },
): CommitVerifier {
  const commandLine: VerifyConfig | undefined = signers === null
    ? undefined
    : { kind: "ssh", path: signers.path, mode: "head", source: signers.source };
  const location = {
    repoRoot: options.repoRoot,
    file: commandLine ? commandLine.source : options.file,
  };
  const repository = () => {
    const config = options.config().verify;
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
