import { logConfigWarnings } from "./log/config_warnings.ts";
import { isAbsolute, join, relative, resolve } from "node:path";
import { loadCommittedRepoConfig } from "./config/committed.ts";
import { loadRepoConfig } from "./config/load.ts";
import {
  type ConfigWarning,
  REPO_CONFIG_FILE,
  type RepoConfig,
} from "./config/types.ts";
import { ConfigError } from "./errors.ts";
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
  let { config, configPath, configDisplay, warnings } = await loadConfig(
    git,
    info.root,
    globals.config,
    logger,
  );
  const branchUpstream = await upstream;
  let { remote, branch } = resolveUpstream(config, info.branch, branchUpstream);
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
  const statePath = resolve(info.root, config.stateFile);
  let store: StateStore;
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
        ({ config, configPath, configDisplay, warnings } = await loadConfig(
          git,
          info.root,
          settings.config ?? undefined,
          logger,
        ));
        ({ remote, branch } = resolveUpstream(
          config,
          info.branch,
          branchUpstream,
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
    await stopLeftoverHooks(interrupted, logger);
  }
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
    runner,
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

async function loadConfig(
  git: GitClient,
  root: string,
  configOption: string | undefined,
  logger: Logger,
): Promise<
  {
    config: RepoConfig;
    configPath: string;
    configDisplay: string;
    warnings: ConfigWarning[];
  }
> {
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
  return { config, configPath, configDisplay, warnings };
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

/** Keeps the state file (and its WAL files) out of `git status` via `.git/info/exclude`. */
async function excludeFromGit(
  root: string,
  gitCommonDir: string,
  statePath: string,
): Promise<void> {
  const inside = relative(root, statePath);
  if (inside.startsWith("..") || isAbsolute(inside)) return;
  const pattern = `/${inside.split("\\").join("/")}*`;
  const excludeFile = join(gitCommonDir, "info", "exclude");
  let current = "";
  try {
    current = await Deno.readTextFile(excludeFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(join(gitCommonDir, "info"), { recursive: true });
  }
  if (current.split(/\r?\n/).includes(pattern)) return;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(
    excludeFile,
    `${current}${separator}# upstream-watch state\n${pattern}\n`,
  );
}
