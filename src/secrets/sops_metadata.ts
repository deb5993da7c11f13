/** The `sops` section of a file: its MAC, date, encryption rule and the keys its data key is stored under. */
import { SopsFormatError } from "./secret_error.ts";

/** The data key encrypted to one age recipient. */
export interface AgeStanza {
  recipient: string;
  enc: string;
}

/** The data key encrypted to one OpenPGP key. */
export interface PgpStanza {
  fingerprint: string;
  enc: string;
}

/** Which values are encrypted (SOPS allows one rule per file; `_unencrypted` suffix by default). */
export type CryptRule =
  | { kind: "unencrypted_suffix"; suffix: string }
  | { kind: "encrypted_suffix"; suffix: string }
  | { kind: "unencrypted_regex"; pattern: RegExp }
  | { kind: "encrypted_regex"; pattern: RegExp };

/** The metadata this agent uses. */
export interface SopsMetadata {
  mac: string;
  /** As SOPS formats it for the MAC's additional data (RFC 3339, whole seconds). */
  lastModified: string;
  macOnlyEncrypted: boolean;
  rule: CryptRule;
  age: AgeStanza[];
  pgp: PgpStanza[];
  /** Key types this agent cannot use, with their count (`{ "AWS KMS": 1 }`). */
  unsupported: Record<string, number>;
}

const UNSUPPORTED_TYPES: Record<string, string> = {
  kms: "AWS KMS",
  gcp_kms: "GCP KMS",
  azure_kv: "Azure Key Vault",
  hc_vault: "HashiCorp Vault",
  hckms: "HuaweiCloud KMS",
};

/** Reads the metadata, failing with one line on what is missing or unsupported. */
export function readMetadata(raw: unknown): SopsMetadata {
  if (!isRecord(raw)) {
    throw new SopsFormatError("not a SOPS file: it has no sops metadata");
  }
  let keys: Record<string, unknown> = raw;
  if (Array.isArray(raw.key_groups) && raw.key_groups.length > 0) {
    if (raw.key_groups.length > 1) {
      throw new SopsFormatError(
        `its data key is split over ${raw.key_groups.length} key groups (Shamir), which is not supported`,
      );
    }
    if (!isRecord(raw.key_groups[0])) {
      throw new SopsFormatError(
        "bad sops metadata: key_groups[0] is not a mapping",
      );
    }
    keys = raw.key_groups[0];
  }
  const unsupported: Record<string, number> = {};
  for (const [field, name] of Object.entries(UNSUPPORTED_TYPES)) {
    const count = Array.isArray(keys[field]) ? keys[field].length : 0;
    if (count > 0) unsupported[name] = count;
  }
  const lastModified = text(raw.lastmodified, "lastmodified");
  return {
    mac: typeof raw.mac === "string" ? raw.mac : "",
    lastModified: macDate(lastModified),
    macOnlyEncrypted: raw.mac_only_encrypted === true ||
      raw.mac_only_encrypted === "true",
    rule: cryptRule(raw),
    age: list(keys.age, "age").map((entry) => ({
      recipient: text(entry.recipient, "age[].recipient"),
      enc: text(entry.enc, "age[].enc"),
    })),
    pgp: list(keys.pgp, "pgp").map((entry) => ({
      fingerprint: text(entry.fp, "pgp[].fp"),
      enc: text(entry.enc, "pgp[].enc"),
    })),
    unsupported,
  };
}

function cryptRule(raw: Record<string, unknown>): CryptRule {
  for (
    const field of ["unencrypted_comment_regex", "encrypted_comment_regex"]
  ) {
    if (typeof raw[field] === "string" && raw[field] !== "") {
      throw new SopsFormatError(`${field} is not supported`);
    }
  }
  const rules: CryptRule[] = [];
  const given = (field: string) =>
    typeof raw[field] === "string" && raw[field] !== ""
      ? raw[field] as string
      : undefined;
  const regex = (pattern: string, field: string) => {
    try {
      return new RegExp(pattern);
    } catch {
      throw new SopsFormatError(`${field} is not a valid regular expression`);
    }
  };
  const unencryptedSuffix = given("unencrypted_suffix");
  const encryptedSuffix = given("encrypted_suffix");
  const unencryptedRegex = given("unencrypted_regex");
  const encryptedRegex = given("encrypted_regex");
  if (unencryptedSuffix !== undefined) {
    rules.push({ kind: "unencrypted_suffix", suffix: unencryptedSuffix });
  }
  if (encryptedSuffix !== undefined) {
    rules.push({ kind: "encrypted_suffix", suffix: encryptedSuffix });
  }
  if (unencryptedRegex !== undefined) {
    rules.push({
      kind: "unencrypted_regex",
      pattern: regex(unencryptedRegex, "unencrypted_regex"),
    });
  }
  if (encryptedRegex !== undefined) {
    rules.push({
      kind: "encrypted_regex",
      pattern: regex(encryptedRegex, "encrypted_regex"),
    });
  }
  if (rules.length > 1) {
    throw new SopsFormatError(
      "bad sops metadata: more than one encryption rule",
    );
  }
  return rules[0] ?? { kind: "unencrypted_suffix", suffix: "_unencrypted" };
}

/** Whether the value at `path` is encrypted under the file's rule. */
export function isEncryptedPath(
  rule: CryptRule,
  path: readonly string[],
): boolean {
  switch (rule.kind) {
    case "unencrypted_suffix":
      return !path.some((key) => key.endsWith(rule.suffix));
    case "encrypted_suffix":
      return path.some((key) => key.endsWith(rule.suffix));
    case "unencrypted_regex":
      return !path.some((key) => rule.pattern.test(key));
    case "encrypted_regex":
      return path.some((key) => rule.pattern.test(key));
  }
}

/** Go's `time.Parse(RFC3339)` then `Format(RFC3339)`: fractional seconds dropped, a zero offset written `Z`. */
function macDate(value: string): string {
  const match =
    /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
      .exec(value);
  if (!match) {
    throw new SopsFormatError(
      `bad sops metadata: lastmodified "${value}" is not an RFC 3339 time`,
    );
  }
  const zone = /^([Zz]|[+-]00:00)$/.test(match[3]) ? "Z" : match[3];
  return match[1].toUpperCase() + zone;
}

function list(value: unknown, field: string): Record<string, unknown>[] {
  if (value === undefined || value === null || value === "") return [];
  if (!Array.isArray(value) || !value.every(isRecord)) {
    throw new SopsFormatError(
      `bad sops metadata: ${field} is not a list of mappings`,
    );
  }
  return value;
}

function text(value: unknown, field: string): string {
  if (value instanceof Date) return value.toISOString().replace(/\.\d+Z$/, "Z");
  if (typeof value !== "string" || value === "") {
    throw new SopsFormatError(`bad sops metadata: ${field} is missing`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
