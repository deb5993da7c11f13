/** The `verify:` key: which keys may sign the commits the agent deploys. */
import { isAbsolute } from "node:path";
import type { ConfigFieldReader, Entry } from "./reader.ts";

/** How much of the history must be signed. */
export type VerifyMode = "head" | "all";

/** Signed-commit verification as configured. */
export interface VerifyConfig {
  /** `ssh`: an allowed-signers file; `gpg`: an OpenPGP keyring (armored or binary). */
  kind: "ssh" | "gpg";
  /** Absolute path of the key file, outside the work tree. */
  path: string;
  mode: VerifyMode;
  /** Where the setting came from, for messages: `verify.allowed_signers`, or the command line. */
  source: string;
}

const VERIFY_KEYS = ["allowed_signers", "gpg_keyring", "mode"] as const;
/** Values of `verify.mode`. */
export const VERIFY_MODES: readonly VerifyMode[] = ["head", "all"];

/** Parses `verify: { allowed_signers | gpg_keyring, mode? }`. */
export function parseVerify(
  reader: ConfigFieldReader,
  entry: Entry,
): VerifyConfig {
  const fields = reader.fields(
    entry,
    VERIFY_KEYS,
    'a mapping with "allowed_signers" or "gpg_keyring" (and optional "mode")',
  );
  const ssh = fields.get("allowed_signers");
  const gpg = fields.get("gpg_keyring");
  if (ssh && gpg) {
    reader.fail(
      'set either "allowed_signers" or "gpg_keyring", not both',
      gpg.keyNode,
      gpg.path,
    );
  }
  const key = ssh ?? gpg;
  if (!key) {
    reader.fail(
      '"allowed_signers" or "gpg_keyring" is required',
      entry.keyNode,
      entry.path,
    );
  }
  const path = reader.string(key);
  if (!isAbsolute(path)) {
    reader.fail(
      `must be an absolute path outside the repository, got "${path}"`,
      key.node,
      key.path,
    );
  }
  const mode = fields.get("mode");
  return {
    kind: ssh ? "ssh" : "gpg",
    path,
    mode: mode ? reader.oneOf(mode, VERIFY_MODES) : "head",
    source: key.path,
  };
}
