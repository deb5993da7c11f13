/**
 * Writes dotenv SOPS files for the end-to-end tests, the way `sops encrypt`
 * lays them out (age stanza, per-value AES-256-GCM with the key path as
 * additional data, SHA-512 MAC): no `sops` binary exists on these machines.
 * The decryption itself is proven against files made by the real sops
 * (src/secrets/testdata); these only give the tests values they can change.
 * @module
 */
import {
  armor,
  Encrypter,
  generateIdentity,
  identityToRecipient,
} from "age-encryption";
import { createCipheriv, createHash, randomBytes } from "node:crypto";

const LAST_MODIFIED = "2026-01-01T00:00:00Z";

/** A fresh age identity and its recipient. */
export async function ageKeyPair(): Promise<
  { identity: string; recipient: string }
> {
  const identity = await generateIdentity();
  return { identity, recipient: await identityToRecipient(identity) };
}

function encryptValue(value: string, key: Uint8Array, aad: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(new TextEncoder().encode(aad));
  const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString("base64")},iv:${
    iv.toString("base64")
  },tag:${tag.toString("base64")},type:str]`;
}

/** A dotenv SOPS file holding `variables`, its data key encrypted to the age `recipient`. */
export async function encryptDotenv(
  variables: Record<string, string>,
  recipient: string,
): Promise<string> {
  const key = new Uint8Array(randomBytes(32));
  const hash = createHash("sha512");
  const lines: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    lines.push(`${name}=${encryptValue(value, key, `${name}:`)}`);
    hash.update(value, "utf8");
  }
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  const stanza = armor.encode(await encrypter.encrypt(key));
  const mac = encryptValue(
    hash.digest("hex").toUpperCase(),
    key,
    LAST_MODIFIED,
  );
  return [
    ...lines,
    `sops_age__list_0__map_enc=${stanza.replaceAll("\n", "\\n")}`,
    `sops_age__list_0__map_recipient=${recipient}`,
    `sops_lastmodified=${LAST_MODIFIED}`,
    `sops_mac=${mac}`,
    "sops_unencrypted_suffix=_unencrypted",
    "sops_version=3.9.0",
  ].join("\n") + "\n";
}
