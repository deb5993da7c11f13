/**
 * Loading and validating `.upstream-watch.yaml` and `.update-hooks.yaml`
 * (SPEC §3): every error names file, line, column and key path; unknown keys
 * are warnings with a "did you mean" hint.
 */
import { parseCommitStatus, parsePublicUrl } from "./commit_status_config.ts";
import { parseVerify } from "./verify_config.ts";
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
} from "yaml";
import { ConfigError, type ConfigLocation } from "../errors.ts";
import { closestKey } from "./closest_key.ts";
import { readConfigFile } from "./config_file.ts";
import {
  type ConfigWarning,
  type HookCommand,
  type NotifyTarget,
  REPO_CONFIG_FILE,
  type RepoConfig,
  SERVICE_CONFIG_FILE,
  type ServiceConfig,
  type SyncMode,
  type WebhookConfig,
} from "./types.ts";

/** A parsed configuration plus the problems that did not stop loading it. */
export interface LoadedConfig<T> {
  config: T;
  warnings: ConfigWarning[];
}

const REPO_KEYS = [
  "single_directory_mode",
  "retry_interval",
  "ignore_folders",
  "remote",
  "branch",
  "sync",
  "state_file",
  "command_timeout",
  "max_attempts",
  "retry_backoff",
  "parallel",
  "history_limit",
  "notify",
  "webhook",
  "verify",
  "commit_status",
  "public_url",
] as const;

const SERVICE_KEYS = [
  "pre_update_commands",
  "update_commands",
  "post_update_commands",
  "on_failure_commands",
  "on_remove_commands",
  "timeout",
  "depends_on",
  "watch_paths",
  "hosts",
  "env",
  "health_commands",
  "health_timeout",
  "health_interval",
  "rollback",
  "check_interval",
] as const;

const NOTIFY_KEYS = ["url", "events", "format"] as const;
const WEBHOOK_KEYS = [
  "listen",
  "secret",
  "insecure",
  "read_token",
  "max_connections",
  "header_timeout",
  "body_timeout",
  "idle_timeout",
] as const;

/** Events a notify target may subscribe to (SPEC §7). */
export const NOTIFY_EVENTS = [
  "deploy_succeeded",
  "deploy_failed",
  "recovered",
  "sync_failed",
  "service_removed",
  "state_lost",
  "rolled_back",
  "unhealthy",
  "healed",
  "verification_failed",
] as const;

/** Message formats a notify target may force (SPEC §7). */
export const NOTIFY_FORMATS = [
  "json",
  "ntfy",
  "gotify",
  "discord",
  "slack",
] as const;

const SYNC_MODES: readonly SyncMode[] = ["ff-only", "reset"];

/** Listen address of the webhook server when `webhook.listen` is omitted. */
export const DEFAULT_WEBHOOK_LISTEN = "127.0.0.1:9000";

import { MAX_SECONDS } from "./numbers.ts";
/** Largest number of seconds accepted for an interval or timeout (a longer timer would fire at once). */
export { MAX_SECONDS };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV_PREFIX = "UPSTREAM_WATCH_";
/** YAML 1.1 booleans that the original Go tool's parser accepted. */
const LEGACY_BOOLEANS = new Map<string, boolean>([
  ["yes", true],
  ["on", true],
  ["no", false],
  ["off", false],
]);

/** Returns the repository configuration with every default applied. */
export function defaultRepoConfig(): RepoConfig {
  return {
    singleDirectoryMode: false,
    retryInterval: 60,
    ignoreFolders: [".git"],
    sync: "ff-only",
    stateFile: ".upstream-watch.sqlite",
    commandTimeout: 3600,
    maxAttempts: 3,
    retryBackoff: 60,
    parallel: 1,
    historyLimit: 1000,
    notify: [],
  };
}

/** Parses `.upstream-watch.yaml` text; empty text yields all defaults. */
export function parseRepoConfig(
  text: string,
  file: string,
): LoadedConfig<RepoConfig> {
  const reader = new ConfigReader(text, file);
  const entries = reader.readRoot(REPO_KEYS, {
    keys: SERVICE_KEYS,
    file: `<service>/${SERVICE_CONFIG_FILE}`,
  });
  const config = defaultRepoConfig();
  const value = (key: (typeof REPO_KEYS)[number]) => entries.get(key);

  let entry = value("single_directory_mode");
  if (entry) config.singleDirectoryMode = reader.boolean(entry);
  entry = value("retry_interval");
  if (entry) config.retryInterval = reader.seconds(entry);
  config.retryBackoff = config.retryInterval;
  entry = value("ignore_folders");
  if (entry) config.ignoreFolders = reader.ignoreFolders(entry);
  entry = value("remote");
  if (entry) config.remote = reader.gitName(entry);
  entry = value("branch");
  if (entry) config.branch = reader.gitName(entry);
  entry = value("sync");
  if (entry) config.sync = reader.oneOf(entry, SYNC_MODES);
  entry = value("state_file");
  if (entry) config.stateFile = reader.stateFile(entry);
  entry = value("command_timeout");
  if (entry) config.commandTimeout = reader.seconds(entry);
  entry = value("max_attempts");
  if (entry) config.maxAttempts = reader.count(entry);
  entry = value("retry_backoff");
  if (entry) config.retryBackoff = reader.seconds(entry);
  entry = value("parallel");
  if (entry) config.parallel = reader.count(entry);
  entry = value("history_limit");
  if (entry) config.historyLimit = reader.count(entry);
  entry = value("notify");
  if (entry) config.notify = reader.notify(entry);
  entry = value("webhook");
  if (entry) {
    const webhook = reader.webhook(entry);
    if (webhook) config.webhook = webhook;
  }
  entry = value("verify");
  if (entry) config.verify = parseVerify(reader, entry);
  entry = value("commit_status");
  if (entry) config.commitStatus = parseCommitStatus(reader, entry);
  entry = value("public_url");
  if (entry) config.publicUrl = parsePublicUrl(reader, entry);
  return { config, warnings: reader.warnings };
}

/** Parses a service's `.update-hooks.yaml` text; empty text yields a service with no commands. */
export function parseServiceConfig(
  text: string,
  file: string,
): LoadedConfig<ServiceConfig> {
  const reader = new ConfigReader(text, file);
  const entries = reader.readRoot(SERVICE_KEYS, {
    keys: REPO_KEYS,
    file: REPO_CONFIG_FILE,
  });
  const value = (key: (typeof SERVICE_KEYS)[number]) => entries.get(key);
  const config: ServiceConfig = {
    preUpdateCommands: reader.commands(value("pre_update_commands")),
    updateCommands: reader.commands(value("update_commands")),
    postUpdateCommands: reader.commands(value("post_update_commands")),
    onFailureCommands: reader.commands(value("on_failure_commands")),
    onRemoveCommands: reader.commands(value("on_remove_commands")),
    dependsOn: [],
    watchPaths: [],
    env: {},
  };
  let entry = value("timeout");
  if (entry) config.timeout = reader.seconds(entry);
  entry = value("depends_on");
  if (entry) config.dependsOn = reader.serviceNames(entry);
  entry = value("watch_paths");
  if (entry) config.watchPaths = reader.watchPaths(entry);
  entry = value("hosts");
  if (entry) config.hosts = reader.hosts(entry);
  entry = value("env");
  if (entry) config.env = reader.env(entry);
  readSafetyKeys(reader, value, config);
  return { config, warnings: reader.warnings };
}

/** The health, rollback and self-heal keys of a hook file. */
function readSafetyKeys(
  reader: ConfigReader,
  value: (key: (typeof SERVICE_KEYS)[number]) => Entry | undefined,
  config: ServiceConfig,
): void {
  const health = value("health_commands");
  if (health) config.healthCommands = reader.commands(health);
  let entry = value("health_timeout");
  if (entry) config.healthTimeout = reader.seconds(entry);
  entry = value("health_interval");
  if (entry) config.healthInterval = reader.seconds(entry);
  entry = value("check_interval");
  if (entry) config.checkInterval = reader.seconds(entry);
  const rollback = value("rollback");
  if (rollback) config.rollback = reader.boolean(rollback);
  if (rollback && config.rollback && config.updateCommands.length === 0) {
    reader.warn(
      "rollback is on but the service has no update_commands: a rollback would run nothing that restores it",
      rollback,
    );
  }
  if (config.checkInterval !== undefined && !config.healthCommands?.length) {
    reader.warn(
      "check_interval is set but the service has no health_commands: there is nothing to check",
      value("check_interval")!,
    );
  }
}

/** Reads and parses `.upstream-watch.yaml`; a missing file means all defaults. */
export async function loadRepoConfig(
  path: string,
  displayFile: string,
): Promise<LoadedConfig<RepoConfig>> {
  const text = await readConfigFile(path, displayFile, { optional: true });
  return parseRepoConfig(text ?? "", displayFile);
}

/** Reads and parses a service's `.update-hooks.yaml`; a missing file is a ConfigError. */
export async function loadServiceConfig(
  path: string,
  displayFile: string,
): Promise<LoadedConfig<ServiceConfig>> {
  const text = await readConfigFile(path, displayFile, { optional: false });
  return parseServiceConfig(text ?? "", displayFile);
}

/**
 * Expands `${NAME}` references from `env`; `$${` stands for a literal `${`.
 * An unset variable or a malformed reference is a ConfigError at `location`.
 */
export function expandEnv(
  text: string,
  env: (name: string) => string | undefined,
  location: ConfigLocation,
): string {
  let result = "";
  let index = 0;
  while (index < text.length) {
    if (text.startsWith("$${", index)) {
      result += "${";
      index += 3;
      continue;
    }
    if (!text.startsWith("${", index)) {
      result += text[index];
      index += 1;
      continue;
    }
    const end = text.indexOf("}", index + 2);
    if (end === -1) {
      throw new ConfigError(
        'unclosed "${" (write "$${" for a literal "${")',
        location,
      );
    }
    const name = text.slice(index + 2, end);
    if (!ENV_NAME.test(name)) {
      throw new ConfigError(
        `invalid environment variable name ${
          JSON.stringify(name)
        } in "\${...}"`,
        location,
      );
    }
    const value = env(name);
    if (value === undefined) {
      throw new ConfigError(
        `environment variable ${name} is not set`,
        location,
      );
    }
    result += value;
    index = end + 1;
  }
  return result;
}

/** One `key: value` pair of a mapping, with its key path. */
export interface Entry {
  /** Key path, e.g. `notify[1].url`. */
  path: string;
  keyNode: YamlNode;
  /** The value, aliases resolved; null values are dropped as "not set" unless kept on request. */
  node: YamlNode;
}

/** Keys of the other configuration file, to point an operator at the right one. */
interface ForeignKeys {
  keys: readonly string[];
  file: string;
}

/** The reader's primitives, for key parsers kept in their own modules. */
export type ConfigFieldReader = Pick<
  ConfigReader,
  "string" | "oneOf" | "fail" | "fields" | "list" | "envReferences"
>;

class ConfigReader {
  readonly warnings: ConfigWarning[] = [];
  readonly #file: string;
  readonly #lines = new LineCounter();
  readonly #root: YamlNode | null;
  readonly #doc: ReturnType<typeof parseDocument>;

  constructor(text: string, file: string) {
    this.#file = file;
    // A BOM is not part of the first line's columns.
    const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
    this.#doc = parseDocument(source, {
      version: "1.2",
      lineCounter: this.#lines,
      prettyErrors: false,
      // Duplicates are reported below with both lines.
      uniqueKeys: false,
    });
    const [error] = this.#doc.errors;
    if (error) {
      const { line, col } = this.#lines.linePos(error.pos[0]);
      const reason = error.code === "MULTIPLE_DOCS"
        ? 'the file must hold a single YAML document (found a second "---")'
        : `invalid YAML: ${firstLine(error.message)}`;
      throw new ConfigError(reason, { file, line, column: col }, {
        cause: error,
      });
    }
    for (const warning of this.#doc.warnings) {
      const { line } = this.#lines.linePos(warning.pos[0]);
      this.warnings.push({
        file,
        line,
        message: firstLine(warning.message),
      });
    }
    this.#root = this.#resolve(this.#doc.contents as YamlNode | null);
  }

  /** The root mapping's known entries; an empty document has none. */
  readRoot(
    known: readonly string[],
    foreign: ForeignKeys,
  ): Map<string, Entry> {
    const root = this.#root;
    if (root === null || (isScalar(root) && root.value === null)) {
      return new Map();
    }
    if (!isMap(root)) {
      this.fail(
        `the file must be a mapping of keys to values, got ${describe(root)}`,
        root,
        undefined,
      );
    }
    return this.#mapping(root, "", { known, foreign });
  }

  boolean(entry: Entry): boolean {
    const { node } = entry;
    if (isScalar(node)) {
      if (typeof node.value === "boolean") return node.value;
      if (node.type === "PLAIN" && typeof node.value === "string") {
        const legacy = LEGACY_BOOLEANS.get(node.value.toLowerCase());
        if (legacy !== undefined) return legacy;
      }
    }
    this.fail(`must be true or false, got ${describe(node)}`, node, entry.path);
  }

  /** A positive number of seconds, decimals allowed. */
  seconds(entry: Entry): number {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
      this.fail(
        `must be a positive number of seconds, got ${describe(node)}${
          quotedNumberHint(node)
        }`,
        node,
        entry.path,
      );
    }
    if (value > MAX_SECONDS) {
      this.fail(
        `must be at most ${MAX_SECONDS} seconds (about 24 days), got ${
          describe(node)
        }`,
        node,
        entry.path,
      );
    }
    return value;
  }

  /** An integer of at least 1. */
  count(entry: Entry): number {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (
      typeof value !== "number" || !Number.isSafeInteger(value) || value < 1
    ) {
      this.fail(
        `must be a whole number of at least 1, got ${describe(node)}${
          quotedNumberHint(node)
        }`,
        node,
        entry.path,
      );
    }
    return value;
  }

  oneOf<T extends string>(entry: Entry, allowed: readonly T[]): T {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (
      typeof value === "string" &&
      (allowed as readonly string[]).includes(value)
    ) {
      return value as T;
    }
    const options = allowed.map((option) => `"${option}"`).join(", ");
    this.fail(
      `must be one of ${options}, got ${describe(node)}`,
      node,
      entry.path,
    );
  }

  /** A non-empty string; `hideValue` keeps a secret out of the message. */
  string(entry: Entry, options: { hideValue?: boolean } = {}): string {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value !== "string") {
      const got = options.hideValue ? describeType(node) : describe(node);
      this.fail(`must be a string, got ${got}`, node, entry.path);
    }
    if (value.trim() === "") this.fail("must not be empty", node, entry.path);
    return value;
  }

  /** A remote or branch name: passed to git, so it may not look like an option. */
  gitName(entry: Entry): string {
    const value = this.string(entry);
    if (value.startsWith("-")) {
      this.fail(
        `must not start with "-", got ${describe(entry.node)}`,
        entry.node,
        entry.path,
      );
    }
    if (/\s/.test(value) || hasControlCharacter(value)) {
      this.fail(
        `must not contain spaces or control characters, got ${
          describe(entry.node)
        }`,
        entry.node,
        entry.path,
      );
    }
    return value;
  }

  stateFile(entry: Entry): string {
    const value = this.string(entry);
    if (value.includes("\0")) {
      this.fail("must not contain a NUL character", entry.node, entry.path);
    }
    if (/[\\/]$/.test(value)) {
      this.fail(
        `must name a file, not a folder, got ${describe(entry.node)}`,
        entry.node,
        entry.path,
      );
    }
    return value;
  }

  /** A list of strings; a single string counts as a one-item list. */
  stringList(entry: Entry): Entry[] {
    const { node } = entry;
    if (isScalar(node) && typeof node.value === "string") return [entry];
    if (!isSeq(node)) {
      this.fail(
        `must be a list of strings, got ${describe(node)}`,
        node,
        entry.path,
      );
    }
    const items = this.#items(node, entry.path);
    for (const item of items) this.string(item);
    return items;
  }

  ignoreFolders(entry: Entry): string[] {
    const folders = this.stringList(entry).map((item) =>
      this.#folderName(item)
    );
    return unique([".git", ...folders]);
  }

  serviceNames(entry: Entry): string[] {
    return unique(this.stringList(entry).map((item) => this.#folderName(item)));
  }

  hosts(entry: Entry): string[] {
    const items = this.stringList(entry);
    if (items.length === 0) {
      this.fail(
        "must not be empty (remove the key to handle the service on every host)",
        entry.node,
        entry.path,
      );
    }
    return unique(items.map((item) => {
      const value = this.string(item).trim();
      if (/\s/.test(value)) {
        this.fail(
          `must be a host name, got ${describe(item.node)}`,
          item.node,
          item.path,
        );
      }
      return value;
    }));
  }

  watchPaths(entry: Entry): string[] {
    return unique(
      this.stringList(entry).map((item) => {
        const raw = this.string(item);
        if (/^([\\/]|[A-Za-z]:)/.test(raw)) {
          this.fail(
            `must be relative to the repository root, got ${
              describe(item.node)
            }`,
            item.node,
            item.path,
          );
        }
        const parts = raw.replaceAll("\\", "/").split("/").filter((part) =>
          part !== "" && part !== "."
        );
        if (parts.includes("..")) {
          this.fail(
            `must stay inside the repository (no ".."), got ${
              describe(item.node)
            }`,
            item.node,
            item.path,
          );
        }
        if (parts.length === 0) {
          this.fail(
            `must name a file or folder inside the repository, got ${
              describe(item.node)
            }`,
            item.node,
            item.path,
          );
        }
        return parts.join("/");
      }),
    );
  }

  /** Hook commands: a list of shell strings or argv lists; a single string is a one-item list. */
  commands(entry: Entry | undefined): HookCommand[] {
    if (entry === undefined) return [];
    const { node } = entry;
    if (isScalar(node) && typeof node.value === "string") {
      return [this.string(entry)];
    }
    if (!isSeq(node)) {
      this.fail(
        `must be a list of commands, got ${describe(node)}`,
        node,
        entry.path,
      );
    }
    return this.#items(node, entry.path).map((item): HookCommand => {
      if (isScalar(item.node) && typeof item.node.value === "string") {
        return this.string(item);
      }
      if (isSeq(item.node)) return this.#argv(item);
      this.fail(
        `must be a command string or a list of arguments, got ${
          describe(item.node)
        }`,
        item.node,
        item.path,
      );
    });
  }

  env(entry: Entry): Record<string, string> {
    if (!isMap(entry.node)) {
      this.fail(
        `must be a mapping of variable names to values, got ${
          describe(entry.node)
        }`,
        entry.node,
        entry.path,
      );
    }
    const variables: [string, string][] = [];
    const entries = this.#mapping(entry.node, entry.path, {
      keepNull: true,
    });
    for (const [name, variable] of entries) {
      if (!ENV_NAME.test(name)) {
        this.fail(
          `invalid environment variable name ${
            JSON.stringify(name)
          } (letters, digits and "_", not starting with a digit)`,
          variable.keyNode,
          variable.path,
        );
      }
      if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
        this.fail(
          `${RESERVED_ENV_PREFIX}* variables are set by upstream-watch itself`,
          variable.keyNode,
          variable.path,
        );
      }
      if (isScalar(variable.node) && variable.node.value === null) {
        this.fail(
          `has no value (write ${name}: "" for an empty string)`,
          variable.keyNode,
          variable.path,
        );
      }
      variables.push([
        name,
        this.#scalarText(variable, "a string, number or boolean"),
      ]);
    }
    // fromEntries defines own properties, so even `__proto__` is a plain key.
    return Object.fromEntries(variables);
  }

  notify(entry: Entry): NotifyTarget[] {
    const { node } = entry;
    // Like every other list key, one bare URL is a one-item list.
    if (isScalar(node) && typeof node.value === "string") {
      return [{ url: this.#notifyUrl(entry) }];
    }
    if (!isSeq(node)) {
      this.fail(
        `must be a list of notification targets, got ${describe(node)}`,
        node,
        entry.path,
      );
    }
    return this.#items(node, entry.path).map((item) => {
      // A bare URL is the short form of `{ url: ... }`.
      if (isScalar(item.node) && typeof item.node.value === "string") {
        return { url: this.#notifyUrl(item) };
      }
      if (!isMap(item.node)) {
        this.fail(
          `must be a mapping with "url" (and optional "events", "format"), got ${
            describe(item.node)
          }`,
          item.node,
          item.path,
        );
      }
      const fields = this.#mapping(item.node, item.path, {
        known: NOTIFY_KEYS,
      });
      const url = fields.get("url");
      if (url === undefined) {
        this.fail('"url" is required', item.node, item.path);
      }
      const target: NotifyTarget = { url: this.#notifyUrl(url) };
      const events = fields.get("events");
      if (events) {
        const names = this.stringList(events);
        if (names.length === 0) {
          this.fail(
            "must not be empty (remove the key to send every event)",
            events.node,
            events.path,
          );
        }
        target.events = unique(
          names.map((name) => this.oneOf(name, NOTIFY_EVENTS)),
        );
      }
      const format = fields.get("format");
      if (format) target.format = this.oneOf(format, NOTIFY_FORMATS);
      return target;
    });
  }

  /** The entries of a mapping value, unknown keys warned about; a non-mapping fails with `expected`. */
  fields(
    entry: Entry,
    known: readonly string[],
    expected: string,
  ): Map<string, Entry> {
    if (!isMap(entry.node)) {
      this.fail(
        `must be ${expected}, got ${describe(entry.node)}`,
        entry.node,
        entry.path,
      );
    }
    return this.#mapping(entry.node, entry.path, { known });
  }

  /** The items of a list value; a single value is a one-item list. */
  list(entry: Entry): Entry[] {
    if (!isSeq(entry.node)) return [entry];
    return this.#items(entry.node, entry.path);
  }

  /** Checks the `${NAME}` references of `text` are well formed (their values are read later). */
  envReferences(text: string, entry: Entry): void {
    this.#checkEnvReferences(text, entry);
  }

  /** `false` or null turns the endpoint off; `true` means all defaults. */
  webhook(entry: Entry): WebhookConfig | undefined {
    const { node } = entry;
    if (isScalar(node) && typeof node.value === "boolean" && !node.value) {
      return undefined;
    }
    let fields = new Map<string, Entry>();
    if (isMap(node)) {
      fields = this.#mapping(node, entry.path, { known: WEBHOOK_KEYS });
    } else if (!(isScalar(node) && node.value === true)) {
      this.fail(
        `must be a mapping with "listen" and "secret", or false to turn it off, got ${
          describe(node)
        }`,
        node,
        entry.path,
      );
    }
    const listen = fields.get("listen");
    const secret = fields.get("secret");
    const insecure = fields.get("insecure");
    const webhook: WebhookConfig = {
      listen: listen ? this.#listen(listen) : DEFAULT_WEBHOOK_LISTEN,
      insecure: insecure ? this.boolean(insecure) : false,
    };
    if (secret) {
      webhook.secret = this.string(secret, { hideValue: true });
      this.#checkEnvReferences(webhook.secret, secret);
    } else if (!webhook.insecure) {
      this.fail(
        "webhook.secret is required unless webhook.insecure: true",
        entry.keyNode,
        entry.path,
      );
    }
    const readToken = fields.get("read_token");
    if (readToken) {
      webhook.readToken = this.string(readToken, { hideValue: true });
      this.#checkEnvReferences(webhook.readToken, readToken);
    }
    const maxConnections = fields.get("max_connections");
    if (maxConnections) webhook.maxConnections = this.count(maxConnections);
    const headerTimeout = fields.get("header_timeout");
    if (headerTimeout) webhook.headerTimeout = this.seconds(headerTimeout);
    const bodyTimeout = fields.get("body_timeout");
    if (bodyTimeout) webhook.bodyTimeout = this.seconds(bodyTimeout);
    const idleTimeout = fields.get("idle_timeout");
    if (idleTimeout) webhook.idleTimeout = this.seconds(idleTimeout);
    return webhook;
  }

  fail(
    reason: string,
    node: YamlNode | undefined,
    key: string | undefined,
  ): never {
    throw new ConfigError(reason, this.#location(node, key));
  }

  #location(
    node: YamlNode | undefined,
    key: string | undefined,
  ): ConfigLocation {
    const location: ConfigLocation = { file: this.#file };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = this.#lines.linePos(offset);
      location.line = line;
      location.column = col;
    }
    if (key !== undefined && key !== "") location.key = key;
    return location;
  }

  #resolve(node: YamlNode | null | undefined): YamlNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (target === undefined) {
        this.fail(`unknown alias *${node.source}`, node, undefined);
      }
      return target;
    }
    return node;
  }

  /**
   * The entries of a mapping. Unknown keys (when `known` is given) become
   * warnings; a duplicate key is an error; null values are dropped as "not
   * set" unless `keepNull`.
   */
  #mapping(
    map: YamlNode,
    path: string,
    options: {
      known?: readonly string[];
      foreign?: ForeignKeys;
      keepNull?: boolean;
    },
  ): Map<string, Entry> {
    if (!isMap(map)) throw new Error("bug: #mapping needs a YAML mapping");
    const entries = new Map<string, Entry>();
    const seen = new Map<string, YamlNode>();
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = this.#resolve(pair.key as YamlNode | null) ??
        (map as YamlNode);
      if (!isScalar(keyNode) || keyNode.value === null) {
        this.fail("keys must be plain names", keyNode, path || undefined);
      }
      const name = String(keyNode.value);
      const keyPath = path === "" ? name : `${path}.${name}`;
      const first = seen.get(name);
      if (first) {
        const firstLine = this.#location(first, undefined).line;
        this.fail(
          `duplicate key "${name}"${
            firstLine ? ` (first at line ${firstLine})` : ""
          }`,
          keyNode,
          keyPath,
        );
      }
      seen.set(name, keyNode);
      if (options.known && !options.known.includes(name)) {
        this.#warnUnknownKey(
          name,
          keyNode,
          keyPath,
          options.known,
          options.foreign,
        );
        continue;
      }
      const value = this.#resolve(pair.value as YamlNode | null);
      if (value === null || (isScalar(value) && value.value === null)) {
        if (!options.keepNull) continue;
      }
      entries.set(name, { path: keyPath, keyNode, node: value ?? keyNode });
    }
    return entries;
  }

  #warnUnknownKey(
    name: string,
    keyNode: YamlNode,
    keyPath: string,
    known: readonly string[],
    foreign: ForeignKeys | undefined,
  ): void {
    let message = `unknown key "${name}"`;
    if (foreign?.keys.includes(name)) {
      message += ` (it belongs in ${foreign.file})`;
    } else {
      const suggestion = closestKey(name, known);
      if (suggestion !== undefined) {
        message += ` (did you mean "${suggestion}"?)`;
      }
    }
    const { line } = this.#location(keyNode, undefined);
    this.warnings.push({ file: this.#file, line, key: keyPath, message });
  }

  /** Records a warning about `entry` (loading goes on). */
  warn(message: string, entry: Entry): void {
    const { line } = this.#location(entry.keyNode, undefined);
    this.warnings.push({ file: this.#file, line, key: entry.path, message });
  }

  #items(seq: YamlNode, path: string): Entry[] {
    if (!isSeq(seq)) throw new Error("bug: #items needs a YAML sequence");
    return seq.items.map((raw, index) => {
      const itemPath = `${path}[${index}]`;
      const node = this.#resolve(raw as YamlNode | null);
      if (node === null || (isScalar(node) && node.value === null)) {
        this.fail("empty list item", node ?? seq, itemPath);
      }
      return { path: itemPath, keyNode: node, node };
    });
  }

  /** A folder name at the top of the repository (service or ignored folder). */
  #folderName(item: Entry): string {
    const raw = this.string(item).trim();
    const name = raw.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
    if (name.includes("/") || name.includes("\\")) {
      this.fail(
        `must be a top-level folder name without "/", got ${
          describe(item.node)
        }`,
        item.node,
        item.path,
      );
    }
    if (name === "" || name === "." || name === "..") {
      this.fail(
        `must be a folder name, got ${describe(item.node)}`,
        item.node,
        item.path,
      );
    }
    return name;
  }

  #argv(entry: Entry): string[] {
    const args = this.#items(entry.node, entry.path).map((item) =>
      this.#scalarText(item, "a string")
    );
    if (args.length === 0) {
      this.fail("an argument list must not be empty", entry.node, entry.path);
    }
    if (args[0].trim() === "") {
      this.fail(
        "the program name must not be empty",
        entry.node,
        `${entry.path}[0]`,
      );
    }
    return args;
  }

  /** A scalar as the operator wrote it: `08080` stays `08080`, `true` becomes `"true"`. */
  #scalarText(entry: Entry, expected: string): string {
    const { node } = entry;
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") {
        return node.type === "PLAIN" && node.source !== undefined
          ? node.source
          : String(value);
      }
    }
    this.fail(`must be ${expected}, got ${describe(node)}`, node, entry.path);
  }

  #notifyUrl(entry: Entry): string {
    const url = this.string(entry, { hideValue: true });
    // A URL held whole in an environment variable is checked once expanded.
    if (!url.startsWith("${") && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S/.test(url)) {
      this.fail(
        'must be a URL such as "https://host/path" or "ntfy://host/topic"',
        entry.node,
        entry.path,
      );
    }
    this.#checkEnvReferences(url, entry);
    return url;
  }

  #checkEnvReferences(text: string, entry: Entry): void {
    expandEnv(text, () => "", this.#location(entry.node, entry.path));
  }

  #listen(entry: Entry): string {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    let text: string;
    if (typeof value === "number") text = String(value);
    else if (typeof value === "string") text = value.trim();
    else {
      this.fail(`must be "host:port", got ${describe(node)}`, node, entry.path);
    }
    // A bare port listens on the loopback interface only.
    if (/^\d+$/.test(text)) text = `127.0.0.1:${text}`;
    const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(\d{1,5})$/.exec(text);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      this.fail(
        `must be "host:port" with a port from 1 to 65535, e.g. "${DEFAULT_WEBHOOK_LISTEN}", got ${
          describe(node)
        }`,
        node,
        entry.path,
      );
    }
    return text;
  }
}

/** How a value is shown after "got": strings quoted, numbers as written. */
function describe(node: YamlNode): string {
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "an empty value";
    if (typeof value === "string") {
      const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return JSON.stringify(shown);
    }
    if (typeof value === "number" || typeof value === "boolean") {
      return node.source ?? String(value);
    }
  }
  return describeType(node);
}

/** Like {@link describe} but never shows the value (for secrets). */
function describeType(node: YamlNode): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "an empty value";
    if (typeof value === "string") return "a string";
    if (typeof value === "number") return "a number";
    if (typeof value === "boolean") return "a boolean";
  }
  return "an unsupported value";
}

function quotedNumberHint(node: YamlNode): string {
  if (
    isScalar(node) && typeof node.value === "string" &&
    node.value.trim() !== "" && Number.isFinite(Number(node.value))
  ) {
    return " (remove the quotes)";
  }
  return "";
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function firstLine(message: string): string {
  return message.split("\n", 1)[0].replace(/\s*at line \d+, column \d+:?$/, "");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
