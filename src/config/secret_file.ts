/**
 * Secrets read from files (`secret_file:`, `read_token_file:`, `token_file:`,
 * `url_file:`) beside the `${VAR}` form: a file a container runtime or
 * systemd's `LoadCredential=` provides keeps the secret out of the agent's
 * environment, which every process of its user can read (docs/security.md).
 * @module
 */
import { isAbsolute } from "node:path";
import { ConfigError, type ConfigLocation, errorMessage } from "../errors.ts";
import { expandEnv } from "./expand_env.ts";
import type { ConfigFieldReader, Entry } from "./reader.ts";
import type { WebhookConfig } from "./types.ts";

/** Most bytes a secret file may hold. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * A value given inline (with `${VAR}`) or as `<key>_file`: exactly one of the
 * two. Returns the inline text ("" when a file is named) and the file's path.
 */
export function secretField(
  reader: ConfigFieldReader,
  fields: ReadonlyMap<string, Entry>,
  key: string,
): { value?: string; file?: string } {
  const inline = fields.get(key);
  const fileEntry = fields.get(`${key}_file`);
  if (inline && fileEntry) {
    reader.fail(
      `"${key}" and "${key}_file" both given; use one`,
      fileEntry.keyNode,
      fileEntry.path,
    );
  }
  if (fileEntry) {
    const file = reader.string(fileEntry);
    if (!isAbsolute(file)) {
      reader.fail(
        `must be an absolute path, got "${file}"`,
        fileEntry.node,
        fileEntry.path,
      );
    }
    return { file };
  }
  if (!inline) return {};
  const value = reader.string(inline, { hideValue: true });
  reader.envReferences(value, inline);
  return { value };
}

/**
 * The secret's value: the file's content without its final line break when a
 * file is named (read each time, so a rotated secret is picked up at the next
 * reload), else the inline text with `${VAR}` expanded.
 */
export function secretValue(
  source: { value?: string; file?: string },
  env: (name: string) => string | undefined,
  location: ConfigLocation,
): string {
  if (source.file === undefined) {
    return expandEnv(source.value ?? "", env, location);
  }
  const at = { ...location, key: `${location.key}_file` };
  let text: string;
  try {
    const info = Deno.statSync(source.file);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_SECRET_BYTES) {
      throw new Error(`${info.size} bytes; at most ${MAX_SECRET_BYTES}`);
    }
    text = Deno.readTextFileSync(source.file);
  } catch (error) {
    throw new ConfigError(
      `cannot read ${source.file}: ${errorMessage(error)}`,
      at,
    );
  }
  return text.replace(/\r?\n$/, "");
}

/** `webhook.secret` or `webhook.read_token` resolved (undefined when not set); an empty value is a ConfigError. */
export function webhookSecret(
  webhook: WebhookConfig | undefined,
  key: "secret" | "read_token",
  options: { env: (name: string) => string | undefined; file: string },
): string | undefined {
  const source = key === "secret"
    ? { value: webhook?.secret, file: webhook?.secretFile }
    : { value: webhook?.readToken, file: webhook?.readTokenFile };
  if (source.value === undefined && source.file === undefined) return undefined;
  const location = { file: options.file, key: `webhook.${key}` };
  const value = secretValue(source, options.env, location);
  if (value === "") throw new ConfigError(`webhook.${key} is empty`, location);
  return value;
}
