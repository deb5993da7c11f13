/**
 * Parsing a service's `.update-hooks.yaml` (docs/configuration.md): its
 * commands, order, scope and environment, and the deploy-safety keys
 * (docs/deploy-safety.md).
 */
import { isMap, isScalar, isSeq } from "yaml";
import { describe } from "./describe_value.ts";
import { ENV_NAME } from "./expand_env.ts";
import { folderNames, hosts, watchPaths } from "./names.ts";
import { ConfigReader, type Entry } from "./reader.ts";
import { readSecrets } from "./secrets_config.ts";
import {
  type HookCommand,
  type LoadedConfig,
  REPO_CONFIG_FILE,
  type ServiceConfig,
} from "./types.ts";
import { REPO_KEYS, SERVICE_KEYS, type ServiceKey } from "./vocabulary.ts";

const RESERVED_ENV_PREFIX = "UPSTREAM_WATCH_";

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
  const value = (key: ServiceKey) => entries.get(key);
  const config: ServiceConfig = {
    preUpdateCommands: commands(reader, value("pre_update_commands")),
    updateCommands: commands(reader, value("update_commands")),
    postUpdateCommands: commands(reader, value("post_update_commands")),
    onFailureCommands: commands(reader, value("on_failure_commands")),
    onRemoveCommands: commands(reader, value("on_remove_commands")),
    dependsOn: [],
    watchPaths: [],
    env: {},
  };
  let entry = value("timeout");
  if (entry) config.timeout = reader.seconds(entry);
  entry = value("depends_on");
  if (entry) config.dependsOn = folderNames(reader, entry);
  entry = value("watch_paths");
  if (entry) config.watchPaths = watchPaths(reader, entry);
  entry = value("hosts");
  if (entry) config.hosts = hosts(reader, entry);
  entry = value("env");
  if (entry) config.env = serviceEnv(reader, entry);
  readSafetyKeys(reader, value, config);
  if (value("secrets") || value("env_from")) {
    const { secrets, envFrom } = readSecrets(
      reader,
      value("secrets"),
      value("env_from"),
    );
    config.secrets = secrets;
    if (envFrom !== undefined) config.envFrom = envFrom;
  }
  return { config, warnings: reader.warnings };
}

/** The health, rollback and self-heal keys of a hook file. */
function readSafetyKeys(
  reader: ConfigReader,
  value: (key: ServiceKey) => Entry | undefined,
  config: ServiceConfig,
): void {
  const health = value("health_commands");
  if (health) config.healthCommands = commands(reader, health);
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

/** Hook commands: a list of shell strings or argv lists; a single string is a one-item list. */
function commands(
  reader: ConfigReader,
  entry: Entry | undefined,
): HookCommand[] {
  if (entry === undefined) return [];
  const { node } = entry;
  if (isScalar(node) && typeof node.value === "string") {
    return [reader.string(entry)];
  }
  if (!isSeq(node)) {
    reader.fail(
      `must be a list of commands, got ${describe(node)}`,
      node,
      entry.path,
    );
  }
  return reader.items(node, entry.path).map((item): HookCommand => {
    if (isScalar(item.node) && typeof item.node.value === "string") {
      return reader.string(item);
    }
    if (isSeq(item.node)) return argv(reader, item);
    reader.fail(
      `must be a command string or a list of arguments, got ${
        describe(item.node)
      }`,
      item.node,
      item.path,
    );
  });
}

/** A command written as a list of arguments: run directly, without a shell. */
function argv(reader: ConfigReader, entry: Entry): string[] {
  const args = reader.items(entry.node, entry.path).map((item) =>
    reader.scalarText(item, "a string")
  );
  if (args.length === 0) {
    reader.fail("an argument list must not be empty", entry.node, entry.path);
  }
  if (args[0].trim() === "") {
    reader.fail(
      "the program name must not be empty",
      entry.node,
      `${entry.path}[0]`,
    );
  }
  return args;
}

/** The service's `env:` mapping; values are kept as written, as strings. */
function serviceEnv(
  reader: ConfigReader,
  entry: Entry,
): Record<string, string> {
  if (!isMap(entry.node)) {
    reader.fail(
      `must be a mapping of variable names to values, got ${
        describe(entry.node)
      }`,
      entry.node,
      entry.path,
    );
  }
  const variables: [string, string][] = [];
  const entries = reader.mapping(entry.node, entry.path, { keepNull: true });
  for (const [name, variable] of entries) {
    if (!ENV_NAME.test(name)) {
      reader.fail(
        `invalid environment variable name ${
          JSON.stringify(name)
        } (letters, digits and "_", not starting with a digit)`,
        variable.keyNode,
        variable.path,
      );
    }
    if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX)) {
      reader.fail(
        `${RESERVED_ENV_PREFIX}* variables are set by upstream-watch itself`,
        variable.keyNode,
        variable.path,
      );
    }
    if (isScalar(variable.node) && variable.node.value === null) {
      reader.fail(
        `has no value (write ${name}: "" for an empty string)`,
        variable.keyNode,
        variable.path,
      );
    }
    variables.push([
      name,
      reader.scalarText(variable, "a string, number or boolean"),
    ]);
  }
  // fromEntries defines own properties, so even `__proto__` is a plain key.
  return Object.fromEntries(variables);
}
