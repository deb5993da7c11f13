/** Reading the signer's key and namespace out of an armored SSH signature (the SSHSIG format of OpenSSH's PROTOCOL.sshsig). */
import { encodeBase64 } from "./base64.ts";

/** What an SSH signature says about itself, before any check. */
export interface SshSignatureInfo {
  /** The signing key's wire blob, base64 as in an allowed-signers line. */
  keyBase64: string;
  keyType: string;
  namespace: string;
}

/** Parses the armored signature; null when it is not SSHSIG. */
export function sshSignatureInfo(armored: string): SshSignatureInfo | null {
  const body = armored.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(body), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
  const magic = new TextDecoder().decode(bytes.slice(0, 6));
  if (magic !== "SSHSIG" || bytes.length < 14) return null;
  const view = new DataView(bytes.buffer);
  let at = 10; // magic (6) and version (4)
  const field = (): Uint8Array | null => {
    if (at + 4 > bytes.length) return null;
    const length = view.getUint32(at);
    const start = at + 4;
    at = start + length;
    return at > bytes.length ? null : bytes.slice(start, at);
  };
  const key = field();
  const namespace = field();
  if (!key || !namespace || key.length < 4) return null;
  const typeLength = new DataView(key.buffer).getUint32(0);
  return {
    keyBase64: encodeBase64(key),
    keyType: new TextDecoder().decode(key.slice(4, 4 + typeLength)),
    namespace: new TextDecoder().decode(namespace),
  };
}

/** `SHA256:…`, the fingerprint ssh-keygen shows for a key blob. */
export async function sshFingerprint(keyBase64: string): Promise<string> {
  const blob = Uint8Array.from(atob(keyBase64), (char) => char.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", blob));
  return `SHA256:${encodeBase64(digest).replace(/=+$/, "")}`;
}
