/** The host's SOPS keys for every run's decrypt step (docs/secrets.md#keys-on-the-host). */
import type { GlobalOptions } from "./open_state.ts";
import { ConfigError } from "../errors.ts";
import type { SecretsHost } from "../hooks/decrypt_step.ts";
import type { ProcessRunner } from "../process/types.ts";
import { hostKeySource, keyFilesInsideWorkTree } from "../secrets/host_keys.ts";

/** The host's SOPS keys; a key file inside the work tree is a configuration error (a push could replace it). */
export function secretsHost(
  globals: GlobalOptions,
  runner: ProcessRunner,
  info: { root: string; gitCommonDir: string },
): SecretsHost {
  const keys = hostKeySource({
    ageKeyFile: globals.ageKeyFile,
    env: Deno.env.toObject(),
    runner,
  });
  const [inside] = keyFilesInsideWorkTree(keys, info.root);
  if (inside !== undefined) {
    throw new ConfigError(inside.reason, { file: inside.source });
  }
  return { keys, gitCommonDir: info.gitCommonDir };
}
