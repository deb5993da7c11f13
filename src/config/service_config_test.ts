import assert from "node:assert/strict";
import { parseServiceConfig } from "./service_config.ts";
import {
  configError,
  service,
  SERVICE_FILE,
} from "../../tests/helpers/config_parsing.ts";

Deno.test("the original service config loads unchanged", () => {
  const { config, warnings } = service(
    'pre_update_commands: ["docker compose down"]\nupdate_commands: ["docker compose pull"]\npost_update_commands: ["docker compose up -d"]\n',
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    preUpdateCommands: ["docker compose down"],
    updateCommands: ["docker compose pull"],
    postUpdateCommands: ["docker compose up -d"],
    onFailureCommands: [],
    onRemoveCommands: [],
    dependsOn: [],
    watchPaths: [],
    env: {},
  });
});

Deno.test("every service key is parsed", () => {
  const { config, warnings } = service(`
pre_update_commands:
  - docker compose down
update_commands:
  - [docker, compose, pull]
  - docker compose build
post_update_commands: docker compose up -d
on_failure_commands: [["./rollback.sh", "--to", 3]]
on_remove_commands: ~
timeout: 90
depends_on: [db, cache/]
watch_paths: [./shared/, lib/common.sh, "./a//b/./c"]
hosts: web-1
env:
  COMPOSE_PROJECT_NAME: api
`);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    preUpdateCommands: ["docker compose down"],
    updateCommands: [["docker", "compose", "pull"], "docker compose build"],
    postUpdateCommands: ["docker compose up -d"],
    onFailureCommands: [["./rollback.sh", "--to", "3"]],
    onRemoveCommands: [],
    timeout: 90,
    dependsOn: ["db", "cache"],
    watchPaths: ["shared", "lib/common.sh", "a/b/c"],
    hosts: ["web-1"],
    env: { COMPOSE_PROJECT_NAME: "api" },
  });
});

Deno.test("a single command string is a one-item list", () => {
  const { config } = service("update_commands: docker compose pull\n");
  assert.deepEqual(config.updateCommands, ["docker compose pull"]);
});

Deno.test("argv commands must be non-empty lists of scalars", () => {
  assert.deepEqual(
    service("update_commands:\n  - [sleep, 5, true]\n").config.updateCommands,
    [["sleep", "5", "true"]],
  );
  let error = configError(() => service("update_commands:\n  - []\n"));
  assert.equal(
    error.message,
    `${SERVICE_FILE}:2:5 (update_commands[0]): an argument list must not be empty`,
  );
  error = configError(() => service("update_commands:\n  - [echo, {a: 1}]\n"));
  assert.equal(error.location.key, "update_commands[0][1]");
  assert.equal(error.reason, "must be a string, got a mapping");
  error = configError(() => service('update_commands: ["ok", ""]\n'));
  assert.equal(error.location.key, "update_commands[1]");
  assert.equal(error.reason, "must not be empty");
  error = configError(() => service("update_commands:\n  -\n"));
  assert.equal(error.location.key, "update_commands[0]");
  assert.equal(error.location.line, 2);
  error = configError(() => service("update_commands: {a: b}\n"));
  assert.equal(error.reason, "must be a list of commands, got a mapping");
});

Deno.test("an unknown service key is a warning with the closest key", () => {
  const { config, warnings } = service(
    "update_command: [a]\npost-update-commands: [b]\ntimout: 5\nretry_interval: 1\n",
  );
  assert.deepEqual(config.updateCommands, []);
  assert.deepEqual(warnings.map((warning) => [warning.line, warning.message]), [
    [1, 'unknown key "update_command" (did you mean "update_commands"?)'],
    [
      2,
      'unknown key "post-update-commands" (did you mean "post_update_commands"?)',
    ],
    [3, 'unknown key "timout" (did you mean "timeout"?)'],
    [4, 'unknown key "retry_interval" (it belongs in .upstream-watch.yaml)'],
  ]);
  assert.ok(warnings.every((warning) => warning.file === SERVICE_FILE));
});

Deno.test("env values are converted to strings as written", () => {
  const { config } = service(
    "env:\n  PORT: 08080\n  DEBUG: true\n  RATIO: 1.50\n  NAME: api\n  QUOTED: '7'\n",
  );
  assert.deepEqual(config.env, {
    PORT: "08080",
    DEBUG: "true",
    RATIO: "1.50",
    NAME: "api",
    QUOTED: "7",
  });
});

Deno.test("env names and values are validated", () => {
  let error = configError(() => service("env:\n  1BAD: x\n"));
  assert.equal(error.location.key, "env.1BAD");
  assert.equal(error.location.line, 2);
  assert.match(error.reason, /^invalid environment variable name "1BAD"/);
  error = configError(() => service("env:\n  A: [1]\n"));
  assert.equal(error.reason, "must be a string, number or boolean, got a list");
  error = configError(() => service("env:\n  EMPTY:\n"));
  assert.equal(
    error.reason,
    'has no value (write EMPTY: "" for an empty string)',
  );
  error = configError(() => service("env:\n  UPSTREAM_WATCH_COMMIT: x\n"));
  assert.match(error.reason, /set by upstream-watch/);
  error = configError(() => service("env: [A=1]\n"));
  assert.equal(error.location.key, "env");
});

Deno.test("an env variable named __proto__ stays a plain variable", () => {
  const { config } = service("env:\n  __proto__: x\n");
  assert.equal(Object.getPrototypeOf(config.env), Object.prototype);
  assert.deepEqual(Object.entries(config.env), [["__proto__", "x"]]);
});

Deno.test("health, rollback and check_interval keys are read with their types checked", () => {
  const { config, warnings } = parseServiceConfig(
    'update_commands: [up]\nhealth_commands: ["curl -f localhost"]\nhealth_timeout: 30\nhealth_interval: 0.5\nrollback: true\ncheck_interval: 60\n',
    SERVICE_FILE,
  );
  assert.deepEqual(config.healthCommands, ["curl -f localhost"]);
  assert.equal(config.healthTimeout, 30);
  assert.equal(config.healthInterval, 0.5);
  assert.equal(config.rollback, true);
  assert.equal(config.checkInterval, 60);
  assert.deepEqual(warnings, []);
  for (
    const [text, reason] of [
      ["health_timeout: 0\n", /must be a positive number of seconds/],
      ["health_interval: -1\n", /must be a positive number of seconds/],
      ["check_interval: soon\n", /must be a positive number of seconds/],
      ["rollback: maybe\n", /must be true or false/],
      ["health_commands: 5\n", /./],
    ] as const
  ) {
    const error = configError(() => parseServiceConfig(text, SERVICE_FILE));
    assert.match(error.reason, reason, text);
    assert.equal(error.location.line, 1, text);
  }
});

Deno.test("rollback without update commands is a warning, not an error", () => {
  const { config, warnings } = parseServiceConfig(
    "rollback: true\n",
    SERVICE_FILE,
  );
  assert.equal(config.rollback, true);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].message, /no update_commands/);
  assert.equal(warnings[0].line, 1);
});
