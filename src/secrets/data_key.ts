/**
 * Recovering a file's 32-byte data key: from the age stanzas with this host's
 * age identities (the `age-encryption` package), or from the OpenPGP stanzas
 * with the host's gpg keyring.
 * @module
 */
import { SopsFormatError } from "./secret_error.ts";
import type { SopsMetadata } from "./sops_metadata.ts";

/** What one OpenPGP decryption gave: the key, no secret key for it here, or another failure. */
export type PgpResult =
  | { kind: "key"; bytes: Uint8Array }
  | { kind: "no_key" }
  | { kind: "failed"; reason: string };

/** Decrypts one armored OpenPGP message with the host's keyring. */
export type PgpDecrypter = (armored: string) => Promise<PgpResult>;

/** The keys this host offers for decryption. */
export interface SopsKeys {
  /** age identities (`AGE-SECRET-KEY-1…`). */
  ageIdentities: readonly string[];
  /** OpenPGP through gpg; undefined: PGP stanzas are not tried. */
  pgp?: PgpDecrypter;
}

/** The data key, or a one-line reason naming what the file offers and what failed. */
export async function recoverDataKey(
  metadata: SopsMetadata,
  keys: SopsKeys,
): Promise<Uint8Array> {
  const failures: string[] = [];
  if (keys.ageIdentities.length > 0 && metadata.age.length > 0) {
    // Loaded here, not with the program: evaluating the package and its
    // ciphers costs every command about 20 ms at start.
    const { armor, Decrypter } = await import("age-encryption");
    const decrypter = new Decrypter();
    for (const identity of keys.ageIdentities) decrypter.addIdentity(identity);
    for (const stanza of metadata.age) {
      try {
        return dataKey(await decrypter.decrypt(armor.decode(stanza.enc)));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!/no identity matched/i.test(message)) {
          failures.push(`age ${stanza.recipient}: ${message}`);
        }
      }
    }
  }
  if (keys.pgp) {
    for (const stanza of metadata.pgp) {
      const result = await keys.pgp(stanza.enc);
      if (result.kind === "key") return dataKey(result.bytes);
      if (result.kind === "failed") {
        failures.push(`PGP ${stanza.fingerprint}: ${result.reason}`);
      }
    }
  }
  throw new SopsFormatError(
    noKeyMessage(metadata, keys) +
      (failures.length > 0 ? ` (${failures[0]})` : ""),
  );
}

function noKeyMessage(metadata: SopsMetadata, keys: SopsKeys): string {
  const offered = [
    count(metadata.age.length, "age recipient"),
    count(metadata.pgp.length, "PGP key"),
  ].filter((text) => text !== "");
  const unsupported = Object.entries(metadata.unsupported).map(([name, n]) =>
    count(n, `${name} key`)
  );
  if (offered.length === 0) {
    return unsupported.length > 0
      ? `its data key is stored only for key types this agent cannot use: ${
        unsupported.join(", ")
      }`
      : "its data key is stored for no key at all";
  }
  let message = `no identity for any of the file's ${joinAnd(offered)}`;
  if (unsupported.length > 0) {
    message += `; not supported here: ${unsupported.join(", ")}`;
  }
  if (keys.ageIdentities.length === 0 && metadata.age.length > 0) {
    message += "; no age identity is configured";
  }
  return message;
}

function dataKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 32) {
    throw new SopsFormatError(`its data key is ${bytes.length} bytes, not 32`);
  }
  return bytes;
}

function count(n: number, noun: string): string {
  if (n === 0) return "";
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function joinAnd(parts: string[]): string {
  return parts.length < 2
    ? parts.join("")
    : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}
