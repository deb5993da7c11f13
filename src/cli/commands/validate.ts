import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app/compose.ts";
import { ConfigError, ExitCode } from "../../errors.ts";
import { configEnvReferences } from "../../config/env_references.ts";
import type { RepoConfig } from "../../config/types.ts";
import { readRepoConfig } from "../../reconcile/config_reload.ts";
import type { Output } from "../output.ts";
import { checkKeyFile } from "../../verify/key_file.ts";
import { secretProblems } from "../../app/secrets_check.ts";

/**
 * `validate [--ref COMMIT]`: checks the repository config and every service's
 * hook file at HEAD (or at COMMIT) with the rules the agent applies before it
 * puts a configuration in effect. A `${VAR}` that is not set here stands in as
 * set, with a warning: the machine that validates need not hold the secrets.
 */
export async function validateCommand(
  app: App,
  output: Output,
  options: { ref?: string } = {},
): Promise<number> {
  const [commit] = await app.git.revParse([options.ref ?? "HEAD"])
    .catch((error) => {
      throw new ConfigError(
        `${options.ref} is not a commit of this repository (${
          error instanceof Error ? error.message.split("\n")[0] : error
        })`,
        { file: "--ref" },
      );
    });
  const unset = new Set<string>();
  let config: RepoConfig | undefined;
  let configError: ConfigError | undefined;
  let configWarnings = 0;
  try {
    const read = await readRepoConfig(
      app,
      commit,
      {
        env: (name) => {
          const value = Deno.env.get(name);
          if (value !== undefined) return value;
          unset.add(name);
          return "placeholder";
        },
      },
    );
    config = read.config;
    configWarnings = read.warnings.length;
    for (const warning of read.warnings) {
      output.err(`${escapeControl(warning.message)}\n`);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configError = error;
  }
  const services = await app.agent.services(
    commit,
    config ?? app.config.current,
  );
  const broken = services.filter((service) => service.error);
  for (const service of broken) {
    output.err(`${escapeControl(service.error!.message)}\n`);
  }
  configError ??= config && await keyFileError(app, config);
  if (configError) output.err(`${escapeControl(configError.message)}\n`);
  for (const name of config ? configEnvReferences(config) : []) {
    if (!unset.has(name)) continue;
    output.err(
      `${app.config.file}: \${${name}} is not set here; the agent must have it in its environment\n`,
    );
  }
  const secrets = await secretProblems(app, services, commit);
  for (const problem of secrets) output.err(`${escapeControl(problem)}\n`);
  const warnings = configWarnings + unset.size +
    services.reduce((count, service) => count + service.warnings.length, 0);
  const invalid = broken.length + secrets.length;
  output.out(
    `${services.length - invalid} of ${services.length} services valid` +
      (warnings > 0 ? `, ${warnings} warning(s)` : "") + "\n",
  );
  return invalid > 0 || configError ? ExitCode.usage : ExitCode.ok;
}

/** The verification key file must exist and parse. */
async function keyFileError(
  app: App,
  config: RepoConfig,
): Promise<ConfigError | undefined> {
  // The verifier's settings are the command line's when it overrides the
  // repository, else HEAD's configuration: then the commit's own apply.
  const verify = app.verifier.config === app.config.current.verify
    ? config.verify
    : app.verifier.config;
  if (!verify) return undefined;
  try {
    await checkKeyFile(verify, app.runner);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}
