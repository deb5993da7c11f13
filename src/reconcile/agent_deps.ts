/**
 * What the agent is built from: the composition root's adapters and the
 * repository's settings. The one dependency bag: the app is this plus the
 * agent, and every stage and run takes the part of it it needs.
 * @module
 */
import type { ConfigInEffect } from "../config/config_in_effect.ts";
import type { GitClient } from "../git/git_client.ts";
import type { SecretsHost } from "../hooks/decrypt_step.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { RunListener } from "../results/run_listener.ts";
import type { StateStore } from "../state/store.ts";
import type { CommitVerifier } from "../verify/verifier.ts";

/** Everything the agent works with; built once by the composition root. */
export interface AgentDeps {
  git: GitClient;
  store: StateStore;
  /** The one way the agent starts processes (git, hooks, health checks). */
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  /** Absolute work tree root. */
  repoRoot: string;
  /** Absolute git dir of the work tree (`.git`, or a worktree's own dir). */
  gitDir: string;
  /** The repository configuration in effect (reloaded as HEAD moves) and where it is read from. */
  config: ConfigInEffect;
  host: string;
  remote: string;
  branch: string;
  /** Signed-commit verification before the work tree moves (off when absent). */
  verifier?: CommitVerifier;
  /** Told when each run starts and ends (commit statuses). */
  runListeners?: readonly RunListener[];
  /** The host's SOPS keys for services' `secrets` (docs/secrets.md). */
  secrets?: SecretsHost;
}
