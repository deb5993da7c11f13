/** Shared helpers of the configuration parser tests: parse text, expect a ConfigError. */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import { parseRepoConfig } from "../../src/config/repo_config.ts";
import { parseServiceConfig } from "../../src/config/service_config.ts";

/** The repository file name the tests parse as. */
export const REPO_FILE = ".upstream-watch.yaml";
/** The hook file name the tests parse as. */
export const SERVICE_FILE = "services/api/.update-hooks.yaml";

/** Runs `parse` expecting a ConfigError and returns it. */
export function configError(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    assert.equal(error.exitCode, 2);
    assert.ok(!error.message.endsWith("."), error.message);
    return error;
  }
  assert.fail("expected a ConfigError");
}

/** Parses `text` as `.upstream-watch.yaml`. */
export function repo(text: string) {
  return parseRepoConfig(text, REPO_FILE);
}

/** Parses `text` as a service's `.update-hooks.yaml`. */
export function service(text: string) {
  return parseServiceConfig(text, SERVICE_FILE);
}
