/**
 * Decrypting one SOPS file to the bytes `sops decrypt` prints: the data key
 * from this host's keys, every value through AES-256-GCM with its path as
 * additional data, and the file's MAC (SHA-512 over the values in order,
 * itself encrypted) checked before anything is returned.
 * See docs/secrets.md#integrity.
 * @module
 */
import { createHash } from "node:crypto";
import { recoverDataKey, type SopsKeys } from "./data_key.ts";
import { readDotenvSops } from "./dotenv_format.ts";
import { readIniSops } from "./ini_format.ts";
import { readBinarySops, readJsonSops } from "./json_format.ts";
import { SecretError, SopsFormatError } from "./secret_error.ts";
import type { SopsDocument } from "./sops_document.ts";
import type { SecretFormat } from "../config/types.ts";
import { isEncryptedPath, readMetadata } from "./sops_metadata.ts";
import {
  decryptValue,
  decryptValueBytes,
  isEncryptedValue,
  plainValue,
  ValueTagError,
} from "./sops_value.ts";
import { readYamlSops } from "./yaml_format.ts";

/** The first 32 bytes of a MAC over only the encrypted values (`mac_only_encrypted`). */
const MAC_ONLY_ENCRYPTED_PREFIX = new Uint8Array([
  0x8a,
  0x3f,
  0xd2,
  0xad,
  0x54,
  0xce,
  0x66,
  0x52,
  0x7b,
  0x10,
  0x34,
  0xf3,
  0xd1,
  0x47,
  0xbe,
  0x0b,
  0x0b,
  0x97,
  0x5b,
  0x3b,
  0xf4,
  0x4f,
  0x72,
  0xc6,
  0xfd,
  0xad,
  0xec,
  0x81,
  0x76,
  0xf2,
  0x7d,
  0x69,
]);

/** A decrypted file: its bytes, and each decrypted value (for masking hook output). */
export interface DecryptedSops {
  content: Uint8Array;
  values: string[];
}

/** Options of {@link decryptSops}. */
export interface DecryptSopsOptions {
  /** The file's name in messages. */
  file: string;
  format: SecretFormat;
  keys: SopsKeys;
}

const READERS: Record<SecretFormat, (text: string) => SopsDocument> = {
  yaml: readYamlSops,
  json: readJsonSops,
  dotenv: readDotenvSops,
  ini: readIniSops,
  binary: readBinarySops,
};

/** Decrypts a SOPS file; any problem is a {@link SecretError} naming the file and the reason. */
export async function decryptSops(
  text: string,
  options: DecryptSopsOptions,
): Promise<DecryptedSops> {
  try {
    return await decryptDocument(READERS[options.format](text), options.keys);
  } catch (error) {
    if (error instanceof SopsFormatError) {
      throw new SecretError(options.file, error.message);
    }
    throw error;
  }
}

async function decryptDocument(
  document: SopsDocument,
  keys: SopsKeys,
): Promise<DecryptedSops> {
  const metadata = readMetadata(document.metadata);
  if (metadata.mac === "") {
    throw new SopsFormatError(
      "it has no MAC, so its values cannot be checked: refused",
    );
  }
  const key = await recoverDataKey(metadata, keys);
  const hash = createHash("sha512");
  if (metadata.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_PREFIX);
  const values: string[] = [];
  for (const leaf of document.leaves) {
    const encrypted = isEncryptedPath(metadata.rule, leaf.path);
    const where = leaf.path.join(":");
    let decrypted;
    if (!encrypted) {
      decrypted = plainValue(leaf.value);
    } else if (leaf.value === "" || isEncryptedValue(leaf.value)) {
      try {
        decrypted = decryptValue(leaf.value as string, key, `${where}:`);
      } catch (error) {
        if (error instanceof ValueTagError) {
          throw new SopsFormatError(
            `the value at ${where} fails its GCM tag: it was altered or moved`,
          );
        }
        throw error;
      }
      if (typeof decrypted.value === "string") values.push(decrypted.value);
    } else {
      throw new SopsFormatError(`the value at ${where} is not encrypted`);
    }
    if (!metadata.macOnlyEncrypted || encrypted) hash.update(decrypted.mac);
    leaf.set(decrypted.value, decrypted.bytes);
  }
  for (const comment of document.comments) {
    if (!isEncryptedValue(comment.text)) continue;
    try {
      const where = comment.path.map((key) => `${key}:`).join("") || ":";
      const { bytes } = decryptValueBytes(comment.text, key, where);
      comment.set(new TextDecoder().decode(bytes));
    } catch {
      // Left as it is, as sops leaves a comment it cannot decrypt.
    }
  }
  const computed = hash.digest("hex").toUpperCase();
  let stored: string;
  try {
    stored = new TextDecoder().decode(
      decryptValueBytes(metadata.mac, key, metadata.lastModified).bytes,
    );
  } catch (error) {
    if (error instanceof ValueTagError) {
      throw new SopsFormatError(
        "its MAC fails its GCM tag: the MAC or the file's date was altered",
      );
    }
    throw error;
  }
  if (stored !== computed) {
    throw new SopsFormatError(
      "MAC mismatch: values were changed, added, removed or reordered since sops wrote it",
    );
  }
  const content = document.emit();
  return {
    content: typeof content === "string"
      ? new TextEncoder().encode(content)
      : content,
    values,
  };
}
