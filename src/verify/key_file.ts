/** Checks that a verification key file exists and holds keys in the expected format (`validate`). */
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { ProcessRunner } from "../process/types.ts";
import { parseAllowedSigners } from "./allowed_signers.ts";
import { buildGnupgHome, removeGnupgHome } from "./gnupg_home.ts";

/** Throws a ConfigError naming the file (and line) when the key file is missing or cannot be parsed; returns the number of keys. */
export async function checkKeyFile(
  config: VerifyConfig,
  runner: ProcessRunner,
): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(config.path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : errorMessage(error);
    throw new ConfigError(`cannot read the key file: ${reason}`, {
      file: config.path,
      key: config.source,
    });
  }
  if (config.kind === "gpg") {
    await removeGnupgHome(await buildGnupgHome(config.path, runner));
    return 1;
  }
  return parseAllowedSigners(text, config.path).length;
}
