/**
 * The composition root: opens the repository and its state (open_state.ts),
 * then builds the agent and what it deploys with: the verifier, the host's
 * SOPS keys and the runner that marks hook processes.
 * @module
 */
import type { ConfigInEffect } from "../config/config_in_effect.ts";
import type { VerifyConfig } from "../config/verify_config.ts";
import type { GitClient } from "../git/git_client.ts";
import type { SecretsHost } from "../hooks/decrypt_step.ts";
import { secretsHost } from "./secrets_host.ts";
import type { Logger } from "../log/logging.ts";
import { MarkingRunner } from "../process/run_marker.ts";
import type { ProcessRunner } from "../process/types.ts";
import { Agent, type AgentDeps } from "../reconcile/agent.ts";
import type { RunListener } from "../results/run_listener.ts";
import type { StateStore } from "../state/store.ts";
import { checkKeyOutsideWorkTree } from "../verify/key_location.ts";
import { CommitVerifier } from "../verify/verifier.ts";
import {
  type EffectiveSettings,
  type GlobalOptions,
  type OpenAppOptions,
  openState,
  type StateApp,
} from "./open_state.ts";

/** The real adapters, built once per command: the agent's dependencies and the agent. */
export interface App extends StateApp, AgentDeps {
  agent: Agent;
  /** The host's SOPS keys (docs/secrets.md). */
  secrets: SecretsHost;
  /** `runner` for hook commands: each process carries this state file's run mark. */
  hookRunner: ProcessRunner;
  /** Signed-commit verification (its `enabled` says whether it is on). */
  verifier: CommitVerifier;
  /** Told when each of the agent's runs starts and ends; commands that deploy add to it. */
  runListeners: RunListener[];
}

/** Composition root: opens the repository and its state, then builds the verifier, the host's keys and the agent. */
export async function openApp(
  globals: GlobalOptions,
  options: OpenAppOptions,
): Promise<App> {
  const state = await openState(globals, options);
  let verifier: CommitVerifier;
  let secrets: SecretsHost;
  try {
    secrets = secretsHost(globals, state.runner, {
      root: state.repoRoot,
      gitCommonDir: state.gitCommonDir,
    });
    verifier = verifierFor(state.settings.allowedSigners, state);
  } catch (error) {
    state[Symbol.dispose]();
    throw error;
  }
  const stateId = state.store.readOnly ? undefined : state.store.stateId();
  const hookRunner = stateId === undefined
    ? state.runner
    : new MarkingRunner(state.runner, stateId);
  const runListeners: RunListener[] = [];
  const { git, store, logger, now, repoRoot, gitDir, config, host } = state;
  const agent = new Agent({
    git,
    store,
    runner: hookRunner,
    logger,
    now,
    repoRoot,
    gitDir,
    config,
    host,
    remote: state.remote,
    branch: state.branch,
    verifier,
    runListeners,
    secrets,
  });
  return {
    ...state,
    agent,
    secrets,
    hookRunner,
    verifier,
    runListeners,
    [Symbol.dispose]: () => {
      verifier.closeSync();
      state[Symbol.dispose]();
    },
  };
}

/** The verifier with the command line's `--allowed-signers` (or its variable) over the repository's `verify:`. */
function verifierFor(
  signers: EffectiveSettings["allowedSigners"],
  options: {
    git: GitClient;
    runner: ProcessRunner;
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
