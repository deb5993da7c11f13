/** Configuration files checked out with Windows line endings or a byte order mark. */
import assert from "node:assert/strict";
import { parseRepoConfig, parseServiceConfig } from "./load.ts";
import { ConfigError } from "../errors.ts";

const SERVICE_YAML = [
  "# checked out on Windows with core.autocrlf",
  "pre_update_commands:",
  "  - docker compose pull",
  "update_commands:",
  "  - |",
  "    docker compose down",
  "    docker compose up -d",
  '  - ["docker", "image", "prune", "-f"]',
  "env:",
  '  COMPOSE_PROJECT_NAME: "web"',
  "depends_on: [db]",
  "watch_paths:",
  "  - shared/caddy",
  "",
].join("\n");

Deno.test("a hook file with CRLF line endings reads exactly like one with LF", () => {
  const lf = parseServiceConfig(SERVICE_YAML, "web/.update-hooks.yaml");
  const crlf = parseServiceConfig(
    SERVICE_YAML.replaceAll("\n", "\r\n"),
    "web/.update-hooks.yaml",
  );
  assert.deepEqual(crlf, lf);
  // No CR leaks into a multi-line script: `/bin/sh` would see `down\r`.
  assert.equal(
    crlf.config.updateCommands[0],
    "docker compose down\ndocker compose up -d\n",
  );
  assert.deepEqual(crlf.config.env, { COMPOSE_PROJECT_NAME: "web" });
});

Deno.test("a hook file saved with a byte order mark and CRLF still parses", () => {
  const { config } = parseServiceConfig(
    "\uFEFF" + SERVICE_YAML.replaceAll("\n", "\r\n"),
    "web/.update-hooks.yaml",
  );
  assert.deepEqual(config.preUpdateCommands, ["docker compose pull"]);
});

Deno.test("the repository config with CRLF line endings reads exactly like one with LF", () => {
  const text = [
    "retry_interval: 30",
    "ignore_folders:",
    "  - shared",
    "sync: reset",
    "state_file: state/agent.sqlite",
    "",
  ].join("\n");
  assert.deepEqual(
    parseRepoConfig(text.replaceAll("\n", "\r\n"), ".upstream-watch.yaml"),
    parseRepoConfig(text, ".upstream-watch.yaml"),
  );
});

Deno.test("errors and warnings in a CRLF file name the right line", () => {
  const text =
    "update_commands:\r\n  - echo hi\r\nupdate_comands: []\r\ntimeout: soon\r\n";
  let error: unknown;
  try {
    parseServiceConfig(text, "web/.update-hooks.yaml");
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError, String(error));
  assert.match(error.message, /^web\/\.update-hooks\.yaml:4\b/);

  const { warnings } = parseServiceConfig(
    "update_commands:\r\n  - echo hi\r\nupdate_comands: []\r\n",
    "web/.update-hooks.yaml",
  );
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].line, 3);
});
