import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { closestKey } from "./closest_key.ts";
import { defaultRepoConfig } from "./defaults.ts";
import { expandEnv } from "./expand_env.ts";
import {
  loadRepoConfig,
  loadServiceConfig,
  parseRepoConfig,
  parseServiceConfig,
} from "./load.ts";

const REPO_FILE = ".upstream-watch.yaml";
const SERVICE_FILE = "services/api/.update-hooks.yaml";

/** Runs `parse` expecting a ConfigError and returns it. */
function configError(parse: () => unknown): ConfigError {
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

function repo(text: string) {
  return parseRepoConfig(text, REPO_FILE);
}

function service(text: string) {
  return parseServiceConfig(text, SERVICE_FILE);
}

Deno.test("the original repository config loads unchanged", () => {
  const { config, warnings } = repo(
    'single_directory_mode: false\nretry_interval: 60\nignore_folders: [".git", ".test"]\n',
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    ...defaultRepoConfig(),
    ignoreFolders: [".git", ".test"],
  });
});

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

Deno.test("an empty or comment-only repository config means all defaults", () => {
  const expected = {
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
  for (const text of ["", "# only a comment\n", "---\n", "~\n", "\uFEFF"]) {
    const { config, warnings } = repo(text);
    assert.deepEqual(config, expected, JSON.stringify(text));
    assert.deepEqual(warnings, []);
  }
});

Deno.test("keys without a value keep their defaults", () => {
  const { config } = repo("retry_interval:\nignore_folders:\nwebhook:\n");
  assert.deepEqual(config, defaultRepoConfig());
});

Deno.test("every repository key is parsed", () => {
  const { config, warnings } = repo(`
single_directory_mode: true
retry_interval: 2.5
ignore_folders: [docs, "scripts/", ./tmp, .git, docs]
remote: upstream
branch: release/1.x
sync: reset
state_file: /var/lib/upstream-watch/state.sqlite
command_timeout: 600
max_attempts: 5
retry_backoff: 30
parallel: 4
history_limit: 50
notify:
  - url: https://hooks.example.com/\${TOKEN}
    events: [deploy_failed, recovered]
    format: json
  - ntfy://ntfy.sh/deploys
webhook:
  listen: "0.0.0.0:8080"
  secret: \${WEBHOOK_SECRET}
`);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    singleDirectoryMode: true,
    retryInterval: 2.5,
    ignoreFolders: [".git", "docs", "scripts", "tmp"],
    remote: "upstream",
    branch: "release/1.x",
    sync: "reset",
    stateFile: "/var/lib/upstream-watch/state.sqlite",
    commandTimeout: 600,
    maxAttempts: 5,
    retryBackoff: 30,
    parallel: 4,
    historyLimit: 50,
    notify: [
      {
        url: "https://hooks.example.com/${TOKEN}",
        events: ["deploy_failed", "recovered"],
        format: "json",
      },
      { url: "ntfy://ntfy.sh/deploys" },
    ],
    webhook: {
      listen: "0.0.0.0:8080",
      secret: "${WEBHOOK_SECRET}",
      insecure: false,
    },
  });
});

Deno.test("retry_backoff defaults to retry_interval", () => {
  assert.equal(repo("retry_interval: 15\n").config.retryBackoff, 15);
  assert.equal(
    repo("retry_backoff: 5\nretry_interval: 15\n").config.retryBackoff,
    5,
  );
});

Deno.test("YAML 1.1 yes/no booleans of the original tool are accepted", () => {
  assert.equal(
    repo("single_directory_mode: yes\n").config.singleDirectoryMode,
    true,
  );
  assert.equal(
    repo("single_directory_mode: Off\n").config.singleDirectoryMode,
    false,
  );
  const error = configError(() => repo('single_directory_mode: "yes"\n'));
  assert.equal(error.reason, 'must be true or false, got "yes"');
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

Deno.test("wrong types name file, line, column and key", () => {
  const error = configError(() =>
    service("update_commands: []\nenv: {}\ntimeout: abc\n")
  );
  assert.equal(
    error.message,
    `${SERVICE_FILE}:3:10 (timeout): must be a positive number of seconds, got "abc"`,
  );
  assert.deepEqual(error.location, {
    file: SERVICE_FILE,
    line: 3,
    column: 10,
    key: "timeout",
  });

  const cases: [string, string, number, string][] = [
    [
      "retry_interval: 0\n",
      "retry_interval",
      1,
      "must be a positive number of seconds, got 0",
    ],
    [
      "retry_interval: -5\n",
      "retry_interval",
      1,
      "must be a positive number of seconds, got -5",
    ],
    [
      'retry_interval: "60"\n',
      "retry_interval",
      1,
      'must be a positive number of seconds, got "60" (remove the quotes)',
    ],
    [
      "retry_interval: .inf\n",
      "retry_interval",
      1,
      "must be a positive number of seconds, got .inf",
    ],
    [
      "command_timeout: 99999999\n",
      "command_timeout",
      1,
      "must be at most 2147483 seconds (about 24 days), got 99999999",
    ],
    [
      "max_attempts: 1.5\n",
      "max_attempts",
      1,
      "must be a whole number of at least 1, got 1.5",
    ],
    [
      "\nparallel: 0\n",
      "parallel",
      2,
      "must be a whole number of at least 1, got 0",
    ],
    [
      "history_limit: [1]\n",
      "history_limit",
      1,
      "must be a whole number of at least 1, got a list",
    ],
    [
      "sync: merge\n",
      "sync",
      1,
      'must be one of "ff-only", "reset", got "merge"',
    ],
    ["remote: 42\n", "remote", 1, "must be a string, got 42"],
    [
      "branch: --upload-pack=x\n",
      "branch",
      1,
      'must not start with "-", got "--upload-pack=x"',
    ],
    ["state_file: ''\n", "state_file", 1, "must not be empty"],
    [
      "ignore_folders: [a, 3]\n",
      "ignore_folders[1]",
      1,
      "must be a string, got 3",
    ],
    [
      "ignore_folders:\n  - a/b\n",
      "ignore_folders[0]",
      2,
      'must be a top-level folder name without "/", got "a/b"',
    ],
    [
      "notify: 42\n",
      "notify",
      1,
      "must be a list of notification targets, got 42",
    ],
    [
      "notify:\n  - url: https://a\n  - events: [recovered]\n",
      "notify[1]",
      3,
      '"url" is required',
    ],
    [
      "notify:\n  - url: https://a\n    events: [deployed]\n",
      "notify[0].events[0]",
      3,
      'must be one of "deploy_succeeded", "deploy_failed", "recovered", "sync_failed", "service_removed", "state_lost", "rolled_back", "unhealthy", "healed", "verification_failed", got "deployed"',
    ],
    [
      "notify:\n  - url: not a url\n",
      "notify[0].url",
      2,
      'must be a URL such as "https://host/path" or "ntfy://host/topic"',
    ],
    [
      "notify:\n  - url: https://x/${BAD-NAME}\n",
      "notify[0].url",
      2,
      'invalid environment variable name "BAD-NAME" in "${...}"',
    ],
    [
      "webhook: yes please\n",
      "webhook",
      1,
      'must be a mapping with "listen" and "secret", or false to turn it off, got "yes please"',
    ],
    [
      "webhook:\n  listen: localhost\n  secret: s\n",
      "webhook.listen",
      2,
      'must be "host:port" with a port from 1 to 65535, e.g. "127.0.0.1:9000", got "localhost"',
    ],
    [
      "webhook:\n  secret: 12345\n",
      "webhook.secret",
      2,
      "must be a string, got a number",
    ],
  ];
  for (const [text, key, line, reason] of cases) {
    const error = configError(() => repo(text));
    assert.equal(error.reason, reason, text);
    assert.equal(error.location.key, key, text);
    assert.equal(error.location.line, line, text);
    assert.equal(error.location.file, REPO_FILE, text);
    assert.ok(error.message.startsWith(`${REPO_FILE}:${line}:`), error.message);
  }
});

Deno.test("a root that is not a mapping is an error", () => {
  const error = configError(() => repo("- retry_interval: 5\n"));
  assert.equal(
    error.message,
    `${REPO_FILE}:1:1: the file must be a mapping of keys to values, got a list`,
  );
  configError(() => service("just text\n"));
});

Deno.test("a YAML syntax error names its line and column", () => {
  const error = configError(() =>
    repo("retry_interval: 60\nignore_folders: [a,\nparallel: 2\n")
  );
  assert.equal(error.location.line, 3);
  assert.equal(error.location.column, 1);
  assert.match(error.reason, /^invalid YAML: /);
  assert.ok(!error.reason.includes("\n"));
  assert.ok(error.cause !== undefined);
});

Deno.test("a duplicate key is an error naming both lines", () => {
  const error = configError(() =>
    repo("retry_interval: 60\nparallel: 2\nretry_interval: 30\n")
  );
  assert.equal(
    error.message,
    `${REPO_FILE}:3:1 (retry_interval): duplicate key "retry_interval" (first at line 1)`,
  );
  const nested = configError(() => service("env:\n  A: 1\n  A: 2\n"));
  assert.equal(nested.location.key, "env.A");
  assert.equal(nested.location.line, 3);
});

Deno.test("a second YAML document is an error", () => {
  const error = configError(() => repo("parallel: 2\n---\nparallel: 3\n"));
  assert.equal(error.location.line, 2);
  assert.match(error.reason, /single YAML document/);
});

Deno.test("an unknown repository key is a warning with the closest key", () => {
  const { config, warnings } = repo(
    "retry_interval: 5\nretry_intervall: 10\nignoreFolders: [x]\nfoo: 1\nupdate_commands: [x]\n",
  );
  assert.equal(config.retryInterval, 5);
  assert.deepEqual(warnings, [
    {
      file: REPO_FILE,
      line: 2,
      key: "retry_intervall",
      message: 'unknown key "retry_intervall" (did you mean "retry_interval"?)',
    },
    {
      file: REPO_FILE,
      line: 3,
      key: "ignoreFolders",
      message: 'unknown key "ignoreFolders" (did you mean "ignore_folders"?)',
    },
    { file: REPO_FILE, line: 4, key: "foo", message: 'unknown key "foo"' },
    {
      file: REPO_FILE,
      line: 5,
      key: "update_commands",
      message:
        'unknown key "update_commands" (it belongs in <service>/.update-hooks.yaml)',
    },
  ]);
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

Deno.test("unknown keys inside notify and webhook are warnings too", () => {
  const { warnings } = repo(
    "notify:\n  - url: https://a\n    event: [recovered]\nwebhook:\n  insecure: true\n  secrte: x\n",
  );
  assert.deepEqual(warnings.map((warning) => [warning.key, warning.message]), [
    ["notify[0].event", 'unknown key "event" (did you mean "events"?)'],
    ["webhook.secrte", 'unknown key "secrte" (did you mean "secret"?)'],
  ]);
});

Deno.test("closestKey ignores case, dashes and camelCase and rejects far keys", () => {
  const keys = ["retry_interval", "retry_backoff", "env", "update_commands"];
  assert.equal(closestKey("RETRY-INTERVAL", keys), "retry_interval");
  assert.equal(closestKey("retryBackof", keys), "retry_backoff");
  assert.equal(closestKey("retyr_interval", keys), "retry_interval");
  assert.equal(closestKey("update", keys), "update_commands");
  assert.equal(closestKey("envs", keys), "env");
  assert.equal(closestKey("xyz", keys), undefined);
  assert.equal(closestKey("interval_of_retry", keys), undefined);
});

Deno.test("CRLF line endings and a BOM are tolerated", () => {
  const { config } = repo(
    '\uFEFFsingle_directory_mode: false\r\nretry_interval: 30\r\nignore_folders: [".git", ".test"]\r\n',
  );
  assert.equal(config.retryInterval, 30);
  assert.deepEqual(config.ignoreFolders, [".git", ".test"]);
  const hooks = service(
    "update_commands:\r\n  - docker compose pull\r\n  - docker compose up -d\r\n",
  );
  assert.deepEqual(hooks.config.updateCommands, [
    "docker compose pull",
    "docker compose up -d",
  ]);
  const error = configError(() =>
    repo("\uFEFFparallel: 2\r\nretry_interval: x\r\n")
  );
  assert.equal(error.location.line, 2);
  assert.equal(error.location.column, 17);
});

Deno.test("watch_paths are normalised and must stay inside the repository", () => {
  assert.deepEqual(
    service("watch_paths: [./shared/, shared, docs\\\\api/]\n").config
      .watchPaths,
    ["shared", "docs/api"],
  );
  let error = configError(() =>
    service("watch_paths:\n  - ok\n  - ../secrets\n")
  );
  assert.equal(
    error.message,
    `${SERVICE_FILE}:3:5 (watch_paths[1]): must stay inside the repository (no ".."), got "../secrets"`,
  );
  configError(() => service("watch_paths: [a/../../b]\n"));
  error = configError(() => service("watch_paths: [/etc/passwd]\n"));
  assert.equal(
    error.reason,
    'must be relative to the repository root, got "/etc/passwd"',
  );
  configError(() => service('watch_paths: ["C:/x"]\n'));
  error = configError(() => service("watch_paths: [./]\n"));
  assert.match(error.reason, /must name a file or folder/);
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

Deno.test("hosts and depends_on accept a single string and reject empty lists", () => {
  const { config } = service("hosts: web-1\ndepends_on: db\n");
  assert.deepEqual(config.hosts, ["web-1"]);
  assert.deepEqual(config.dependsOn, ["db"]);
  assert.equal(service("").config.hosts, undefined);
  const error = configError(() => service("hosts: []\n"));
  assert.equal(
    error.message,
    `${SERVICE_FILE}:1:8 (hosts): must not be empty (remove the key to handle the service on every host)`,
  );
  configError(() => service("depends_on: [a/b]\n"));
});

Deno.test("the webhook needs a secret unless it is marked insecure", () => {
  const error = configError(() => repo("webhook:\n  listen: 127.0.0.1:9000\n"));
  assert.equal(
    error.message,
    `${REPO_FILE}:1:1 (webhook): webhook.secret is required unless webhook.insecure: true`,
  );
  configError(() => repo("webhook: true\n"));
  assert.deepEqual(repo("webhook:\n  insecure: true\n").config.webhook, {
    listen: "127.0.0.1:9000",
    insecure: true,
  });
  assert.deepEqual(
    repo("webhook:\n  listen: 9100\n  secret: s3cret\n").config.webhook,
    { listen: "127.0.0.1:9100", secret: "s3cret", insecure: false },
  );
  assert.deepEqual(
    repo('webhook:\n  listen: "[::1]:9000"\n  secret: s\n').config.webhook
      ?.listen,
    "[::1]:9000",
  );
  assert.equal(repo("webhook: false\n").config.webhook, undefined);
  assert.equal(repo("webhook: ~\n").config.webhook, undefined);
});

Deno.test("secrets are not echoed in error messages", () => {
  const error = configError(() => repo("notify:\n  - url: hunter2-token\n"));
  assert.ok(!error.message.includes("hunter2"), error.message);
});

Deno.test("expandEnv replaces ${NAME} references", () => {
  const env = (name: string) =>
    ({ TOKEN: "abc", EMPTY: "" } as Record<string, string>)[name];
  const location = { file: REPO_FILE, key: "notify[0].url" };
  assert.equal(
    expandEnv("https://x/${TOKEN}/${EMPTY}end", env, location),
    "https://x/abc/end",
  );
  assert.equal(
    expandEnv("cost $5 and $${TOKEN}", env, location),
    "cost $5 and ${TOKEN}",
  );
  assert.equal(expandEnv("plain", env, location), "plain");
});

Deno.test("expandEnv fails on an unset variable or a malformed reference", () => {
  const location = { file: REPO_FILE, line: 4, key: "webhook.secret" };
  let error = configError(() =>
    expandEnv("${MISSING}", () => undefined, location)
  );
  assert.equal(
    error.message,
    `${REPO_FILE}:4 (webhook.secret): environment variable MISSING is not set`,
  );
  error = configError(() => expandEnv("x${OPEN", () => "v", location));
  assert.match(error.reason, /unclosed/);
  error = configError(() => expandEnv("${}", () => "v", location));
  assert.match(error.reason, /invalid environment variable name ""/);
});

Deno.test("loadRepoConfig treats a missing file as all defaults", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await loadRepoConfig(join(dir, REPO_FILE), REPO_FILE);
    assert.deepEqual(missing.config, defaultRepoConfig());
    await Deno.writeTextFile(join(dir, REPO_FILE), "parallel: 3\n");
    const present = await loadRepoConfig(join(dir, REPO_FILE), REPO_FILE);
    assert.equal(present.config.parallel, 3);
    await assert.rejects(
      () => loadRepoConfig(dir, REPO_FILE),
      (error) =>
        error instanceof ConfigError && error.location.file === REPO_FILE,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadServiceConfig requires the file to exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, ".update-hooks.yaml");
    await assert.rejects(
      () => loadServiceConfig(path, SERVICE_FILE),
      (error) =>
        error instanceof ConfigError &&
        error.message === `${SERVICE_FILE}: file not found` &&
        error.exitCode === 2,
    );
    await Deno.writeTextFile(path, "update_commands: [make]\n");
    const { config } = await loadServiceConfig(path, SERVICE_FILE);
    assert.deepEqual(config.updateCommands, ["make"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a boolean key rejects words that are not booleans", () => {
  const error = configError(() => repo("single_directory_mode: constructor\n"));
  assert.equal(error.reason, 'must be true or false, got "constructor"');
});

Deno.test("an env variable named __proto__ stays a plain variable", () => {
  const { config } = service("env:\n  __proto__: x\n");
  assert.equal(Object.getPrototypeOf(config.env), Object.prototype);
  assert.deepEqual(Object.entries(config.env), [["__proto__", "x"]]);
});

Deno.test("one notify URL instead of a list is a one-item list", () => {
  const { config } = repo("notify: ntfy://ntfy.sh/deploys\n");
  assert.deepEqual(config.notify, [{ url: "ntfy://ntfy.sh/deploys" }]);
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
