/** The configured key file as read for one check: its content hash (part of every cached verdict) and what it holds. */
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import { type AllowedSigner, parseAllowedSigners } from "./allowed_signers.ts";
import { encodeBase64 } from "./base64.ts";

/** A key file read, or why it could not be. */
export type TrustStore =
  | { kind: "ssh"; hash: string; signers: AllowedSigner[] }
  | { kind: "gpg"; hash: string }
  | { kind: "unusable"; hash: string; reason: string };

/** Reads and hashes the key file of `config`; an allowed-signers file is parsed too. */
export async function readTrustStore(
  config: VerifyConfig,
): Promise<TrustStore> {
  const what = config.kind === "ssh"
    ? `the allowed-signers file ${config.path}`
    : `the keyring ${config.path}`;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(config.path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : errorMessage(error);
    return {
      kind: "unusable",
      hash: `unreadable:${reason}`,
      reason: `${what} cannot be read: ${reason}`,
    };
  }
  const hash = encodeBase64(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
  );
  if (config.kind === "gpg") return { kind: "gpg", hash };
  try {
    const text = new TextDecoder().decode(bytes);
    return {
      kind: "ssh",
      hash,
      signers: parseAllowedSigners(text, config.path),
    };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return {
      kind: "unusable",
      hash,
      reason: `invalid allowed-signers file: ${error.message}`,
    };
  }
}
