import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app/compose.ts";
import { ConfigError, ExitCode } from "../../errors.ts";
import { resolveTargets } from "../../notify/target.ts";
import type { Output } from "../output.ts";
import { checkKeyFile } from "../../verify/key_file.ts";
import { secretProblems } from "../../app/secrets_check.ts";

/** `validate`: checks the repository config and every service's hook file at HEAD. */
export async function validateCommand(
  app: App,
  output: Output,
): Promise<number> {
  const [head] = await app.git.revParse(["HEAD"]);
  const services = await app.agent.services(head);
  const broken = services.filter((service) => service.error);
  for (const service of broken) {
    output.err(`${escapeControl(service.error!.message)}\n`);
  }
  const notifyError = notifyTargetsError(app) ??
    await keyFileError(app);
  if (notifyError) output.err(`${escapeControl(notifyError.message)}\n`);
  const secrets = await secretProblems(app, services, head);
  for (const problem of secrets) output.err(`${escapeControl(problem)}\n`);
  const warnings = app.configWarnings.length +
    services.reduce((count, service) => count + service.warnings.length, 0);
  const invalid = broken.length + secrets.length;
  output.out(
    `${services.length - invalid} of ${services.length} services valid` +
      (warnings > 0 ? `, ${warnings} warning(s)` : "") + "\n",
  );
  return invalid > 0 || notifyError ? ExitCode.usage : ExitCode.ok;
}

/** The verification key file must exist and parse. */
async function keyFileError(app: App): Promise<ConfigError | undefined> {
  const config = app.verifier.config;
  if (!config) return undefined;
  try {
    await checkKeyFile(config, app.runner);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

/**
 * Checks notify targets as `run` resolves them (scheme, format, shape), with
 * every `${VAR}` standing in as set: validating needs no secrets on this machine.
 */
function notifyTargetsError(app: App): ConfigError | undefined {
  try {
    resolveTargets(app.config.current.notify, {
      env: () => "placeholder",
      file: app.config.file,
    });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}
