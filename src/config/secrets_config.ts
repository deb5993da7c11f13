/**
 * The `secrets:` and `env_from:` keys of a hook file: SOPS files of the
 * service folder decrypted before its hooks (docs/secrets.md).
 * @module
 */
import { isMap, isScalar, isSeq } from "yaml";
import { describe } from "./describe_value.ts";
import type { ConfigReader, Entry } from "./reader.ts";
import {
  SECRET_FORMATS,
  type SecretFile,
  type SecretFormat,
  SERVICE_CONFIG_FILE,
} from "./types.ts";

const SECRET_KEYS = ["file", "to", "mode", "format"] as const;

/** Default mode of a decrypted file: readable and writable by the agent's user only. */
export const DEFAULT_SECRET_MODE = 0o600;

/** Reads `secrets:` (a list of files or `{ file, to?, mode?, format? }`) and `env_from:`. */
export function readSecrets(
  reader: ConfigReader,
  secretsEntry: Entry | undefined,
  envFromEntry: Entry | undefined,
): { secrets: SecretFile[]; envFrom?: string } {
  const secrets: SecretFile[] = [];
  if (secretsEntry) {
    if (!isSeq(secretsEntry.node)) {
      reader.fail(
        `must be a list of SOPS files, got ${describe(secretsEntry.node)}`,
        secretsEntry.node,
        secretsEntry.path,
      );
    }
    for (const item of reader.items(secretsEntry.node, secretsEntry.path)) {
      secrets.push(secretFile(reader, item));
    }
  }
  const seen = new Map<string, string>();
  for (const [index, secret] of secrets.entries()) {
    for (const path of [secret.file, secret.to]) {
      if (path === undefined) continue;
      const first = seen.get(path);
      if (first !== undefined) {
        reader.fail(
          `${path} is already used by ${first}`,
          secretsEntry!.node,
          `secrets[${index}]`,
        );
      }
      seen.set(path, `secrets[${index}]`);
    }
  }
  if (!envFromEntry) return { secrets };
  const envFrom = relativeFile(reader, envFromEntry);
  const listed = secrets.find((secret) => secret.file === envFrom);
  const format = listed?.format ?? formatFromName(envFrom);
  if (format !== "dotenv") {
    reader.fail(
      `must name a dotenv SOPS file (format dotenv), got ${envFrom} (${format})`,
      envFromEntry.node,
      envFromEntry.path,
    );
  }
  if (!listed) {
    secrets.push({ file: envFrom, format, mode: DEFAULT_SECRET_MODE });
  }
  return { secrets, envFrom };
}

function secretFile(reader: ConfigReader, item: Entry): SecretFile {
  const fields = isScalar(item.node)
    ? new Map([["file", item]])
    : isMap(item.node)
    ? reader.mapping(item.node, item.path, { known: SECRET_KEYS })
    : reader.fail(
      `must be a file name or a mapping { file, to, mode, format }, got ${
        describe(item.node)
      }`,
      item.node,
      item.path,
    );
  const fileEntry = fields.get("file");
  if (!fileEntry) {
    reader.fail("is missing the key file", item.node, item.path);
  }
  const file = relativeFile(reader, fileEntry);
  const toEntry = fields.get("to");
  const to = toEntry ? relativeFile(reader, toEntry) : defaultTarget(file);
  if (to === undefined) {
    reader.fail(
      `${file} has no ".sops" or ".enc" in its name: write to: for the decrypted file`,
      fileEntry.node,
      fileEntry.path,
    );
  }
  if (to === file) {
    reader.fail(
      "the decrypted file would replace the encrypted one",
      (toEntry ?? fileEntry).node,
      (toEntry ?? fileEntry).path,
    );
  }
  const modeEntry = fields.get("mode");
  const formatEntry = fields.get("format");
  return {
    file,
    to,
    mode: modeEntry ? fileMode(reader, modeEntry) : DEFAULT_SECRET_MODE,
    format: formatEntry
      ? secretFormat(reader, formatEntry)
      : formatFromName(file),
  };
}

/** The decrypted file's default name: the encrypted one without `.sops` or `.enc` (`app.sops.env` → `app.env`). */
export function defaultTarget(file: string): string | undefined {
  const slash = file.lastIndexOf("/");
  const name = file.slice(slash + 1);
  const stripped = name.replace(/\.(sops|enc)(?=\.|$)/, "");
  if (stripped === name || stripped === "") return undefined;
  return file.slice(0, slash + 1) + stripped;
}

/** The format `sops` infers from a file's extension. */
export function formatFromName(file: string): SecretFormat {
  if (/\.ya?ml$/.test(file)) return "yaml";
  if (file.endsWith(".json")) return "json";
  if (file.endsWith(".env")) return "dotenv";
  if (file.endsWith(".ini")) return "ini";
  return "binary";
}

function relativeFile(reader: ConfigReader, entry: Entry): string {
  const raw = reader.string(entry);
  if (/^([\\/]|[A-Za-z]:)/.test(raw)) {
    reader.fail(
      `must be a path inside the service folder, got ${describe(entry.node)}`,
      entry.node,
      entry.path,
    );
  }
  const parts = raw.replaceAll("\\", "/").split("/").filter((part) =>
    part !== "" && part !== "."
  );
  if (parts.includes("..") || parts.length === 0) {
    reader.fail(
      `must be a file inside the service folder (no ".."), got ${
        describe(entry.node)
      }`,
      entry.node,
      entry.path,
    );
  }
  if (parts[0] === ".git" || parts.at(-1) === SERVICE_CONFIG_FILE) {
    reader.fail(`must not be ${parts.join("/")}`, entry.node, entry.path);
  }
  return parts.join("/");
}

function fileMode(reader: ConfigReader, entry: Entry): number {
  const text = reader.scalarText(entry, 'an octal mode such as "0400"');
  if (!/^0?[0-7]{3}$/.test(text)) {
    reader.fail(
      `must be an octal mode such as "0400" or "0640", got ${
        JSON.stringify(text)
      }`,
      entry.node,
      entry.path,
    );
  }
  const mode = parseInt(text, 8);
  if ((mode & 0o400) === 0) {
    reader.fail(
      "must let the owner read the file (the agent's user, who writes it)",
      entry.node,
      entry.path,
    );
  }
  if ((mode & 0o002) !== 0) {
    reader.fail(
      "must not let every user write the file",
      entry.node,
      entry.path,
    );
  }
  return mode;
}

function secretFormat(reader: ConfigReader, entry: Entry): SecretFormat {
  const text = reader.string(entry);
  if (!(SECRET_FORMATS as readonly string[]).includes(text)) {
    reader.fail(
      `must be one of ${SECRET_FORMATS.join(", ")}, got ${
        JSON.stringify(text)
      }`,
      entry.node,
      entry.path,
    );
  }
  return text as SecretFormat;
}
