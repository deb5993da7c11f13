/**
 * One encrypted SOPS value, `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: its
 * parts, its decryption with the file's data key, and the bytes the MAC covers.
 * AES-256-GCM is the runtime's (node:crypto): SOPS uses 32-byte nonces, which
 * Deno's WebCrypto refuses ("Initialization vector length not supported").
 * @module
 */
import { createDecipheriv } from "node:crypto";
import { decimalText } from "./decimal_text.ts";
import { SopsFormatError } from "./secret_error.ts";

/** A decrypted value, typed as its `type:` field says. */
export type PlainValue = string | number | boolean;

/** A value that failed its GCM tag: altered, or encrypted under another key or path. */
export class ValueTagError extends Error {
  constructor() {
    super("AES-GCM authentication failed");
    this.name = "ValueTagError";
  }
}

const ENCRYPTED = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/s;

/** Whether `text` is written in SOPS's encrypted-value format. */
export function isEncryptedValue(text: unknown): text is string {
  return typeof text === "string" && ENCRYPTED.test(text);
}

/** The plaintext bytes of one encrypted value (`additionalData` is its path, `a:b:`). */
export function decryptValueBytes(
  text: string,
  key: Uint8Array,
  additionalData: string,
): { bytes: Uint8Array; type: string } {
  const match = ENCRYPTED.exec(text);
  if (!match) throw new SopsFormatError("not an encrypted value");
  const [data, iv, tag] = [match[1], match[2], match[3]].map(base64Bytes);
  if (tag.length !== 16) throw new SopsFormatError("GCM tag is not 16 bytes");
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(new TextEncoder().encode(additionalData));
  decipher.setAuthTag(tag);
  let bytes: Uint8Array;
  try {
    bytes = concatBytes(decipher.update(data), decipher.final());
  } catch {
    throw new ValueTagError();
  }
  return { bytes, type: match[4] };
}

/** A decrypted value: typed, its exact bytes, and the bytes the MAC covers. */
export interface DecryptedValue {
  value: PlainValue;
  bytes: Uint8Array;
  mac: Uint8Array;
}

/** Decrypts one value to its typed plaintext (an empty string stays empty, as SOPS writes it unencrypted). */
export function decryptValue(
  text: string,
  key: Uint8Array,
  additionalData: string,
): DecryptedValue {
  if (text === "") return plainValue("");
  const { bytes, type } = decryptValueBytes(text, key, additionalData);
  const plain = new TextDecoder().decode(bytes);
  switch (type) {
    case "str":
    case "bytes":
    case "comment":
    case "time":
      return { value: plain, bytes, mac: bytes };
    case "int": {
      if (!/^[+-]?\d+$/.test(plain)) {
        throw new SopsFormatError(`"${type}" value is not an integer`);
      }
      return plainValue(Number(plain));
    }
    case "float": {
      const value = Number(plain);
      if (plain.trim() === "" || Number.isNaN(value)) {
        throw new SopsFormatError(`"${type}" value is not a number`);
      }
      return plainValue(value);
    }
    case "bool":
      return plainValue(parseGoBool(plain));
    default:
      throw new SopsFormatError(`unknown value type "${type}"`);
  }
}

/** A value left unencrypted in the file, with the bytes the MAC covers. */
export function plainValue(value: PlainValue): DecryptedValue {
  const bytes = macBytes(value);
  return { value, bytes, mac: bytes };
}

/** The bytes SOPS feeds its MAC for a value (Go's `ToBytes`: `True`/`False`, shortest decimal numbers). */
export function macBytes(value: PlainValue): Uint8Array {
  return new TextEncoder().encode(macText(value));
}

function macText(value: PlainValue): string {
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return decimalText(value);
  return value;
}

function parseGoBool(text: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  throw new SopsFormatError(`"bool" value is not a boolean`);
}

function base64Bytes(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  } catch {
    throw new SopsFormatError("encrypted value is not valid base64");
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
