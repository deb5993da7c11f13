/** Checks that a verification key file exists and holds keys in the expected format (`validate`). */
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { ProcessRunner } from "../process/types.ts";
import { buildGnupgHome } from "./verifier.ts";

/** Key types `ssh-keygen -Y verify` accepts in an allowed-signers file. */
const SSH_KEY_TYPE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-dss)$/;

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
    const home = await buildGnupgHome(config.path, runner);
    await Deno.remove(home, { recursive: true }).catch(() => {});
    return 1;
  }
  return allowedSignersKeys(text, config.path);
}

/** Counts the keys of an allowed-signers file (`principals [options] keytype base64-key [comment]`), failing at the first bad line. */
export function allowedSignersKeys(text: string, file: string): number {
  let keys = 0;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    // Options (cert-authority, namespaces="git", valid-after=…) sit between principals and key type.
    const typeAt = fields.findIndex((field, at) =>
      at > 0 && SSH_KEY_TYPE.test(field)
    );
    const key = typeAt > 0 ? fields[typeAt + 1] : undefined;
    if (!key || !isBase64Key(key, fields[typeAt])) {
      throw new ConfigError(
        "not an allowed-signers line (expected: principals [options] key-type base64-key)",
        { file, line: index + 1 },
      );
    }
    keys++;
  }
  if (keys === 0) {
    throw new ConfigError("the allowed-signers file holds no key", { file });
  }
  return keys;
}

function isBase64Key(text: string, type: string): boolean {
  try {
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    // The blob starts with its own key type as an SSH string.
    const length = new DataView(bytes.buffer).getUint32(0);
    return new TextDecoder().decode(bytes.slice(4, 4 + length)) === type;
  } catch {
    return false;
  }
}
