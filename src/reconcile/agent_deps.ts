/** What the agent is built from: the composition root's adapters and the repository's settings. */
import type { RepoConfig } from "../config/types.ts";
import type { GitClient } from "../git/git_client.ts";
import type { SecretsHost } from "../hooks/decrypt_step.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type { CommitVerifier } from "../verify/verifier.ts";
import type { RunListener } from "./run_listener.ts";

/** Everything the agent works with; built once by the composition root. */
export interface AgentDeps {
  git: GitClient;
  store: StateStore;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  /** Absolute work tree root. */
  repoRoot: string;
  /** Absolute git dir of the work tree (`.git`, or a worktree's own dir). */
  gitDir: string;
  /** Absolute path of `.upstream-watch.yaml` (or `--config`). */
  configPath: string;
  /** How the config file is named in messages. */
  configDisplay: string;
  /** True: `.upstream-watch.yaml` is read from the commit's git objects, not from `configPath`. */
  configFromGit: boolean;
  config: RepoConfig;
  host: string;
  remote: string;
  branch: string;
  /** Signed-commit verification before the work tree moves (off when absent). */
  verifier?: CommitVerifier;
  /** Told when each run starts and ends (commit statuses). */
  runListeners?: RunListener[];
  /** The host's SOPS keys for services' `secrets` (docs/secrets.md). */
  secrets?: SecretsHost;
}
