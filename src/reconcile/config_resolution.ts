/**
 * Resolving a repository configuration completely before it is used: every
 * `${VAR}`, every path, every target. A configuration that fails here is never
 * put in effect (docs/design.md#the-cycle), so a pushed configuration cannot
 * lock the agent out.
 * @module
 */
import { secretValue, webhookSecret } from "../config/secret_file.ts";
import type { RepoConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { resolveTargets } from "../notify/target.ts";
import { checkKeyOutsideWorkTree } from "../verify/key_location.ts";

/** What resolving a configuration looks at. */
export interface ResolutionContext {
  /** How the configuration file is named in messages. */
  file: string;
  /** Absolute work tree root (a key file must lie outside it). */
  repoRoot: string;
  /** The agent's environment, for `${VAR}`. */
  env: (name: string) => string | undefined;
}

/** Throws the first {@link ConfigError} that using `config` would raise later, or returns when it can be used. */
export function resolveRepoConfig(
  config: RepoConfig,
  context: ResolutionContext,
): void {
  const { file, env } = context;
  for (const key of ["secret", "read_token"] as const) {
    webhookSecret(config.webhook, key, { env, file });
  }
  resolveTargets(config.notify, { env, file });
  // The repository a status goes to is worked out by the reporter, which
  // keeps its previous targets when that fails; the tokens are checked here.
  for (const [index, target] of (config.commitStatus ?? []).entries()) {
    const location = { file, key: `commit_status[${index}].token` };
    const token = secretValue(
      { value: target.token, file: target.tokenFile },
      env,
      location,
    );
    if (token.trim() === "") throw new ConfigError("token is empty", location);
  }
  // A key file that cannot be read is the verifier's to report: it refuses
  // the commit naming why, whichever configuration is in effect.
  if (config.verify) {
    checkKeyOutsideWorkTree(config.verify, {
      repoRoot: context.repoRoot,
      file,
    });
  }
}
