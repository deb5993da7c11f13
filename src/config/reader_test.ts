import assert from "node:assert/strict";
import {
  configError,
  repo,
  REPO_FILE,
  service,
  SERVICE_FILE,
} from "../../tests/helpers/config_parsing.ts";

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
      '"url" or "url_file" is required',
    ],
    [
      "notify:\n  - url: https://a\n    events: [deployed]\n",
      "notify[0].events[0]",
      3,
      'must be one of "deploy_succeeded", "deploy_failed", "recovered", "sync_failed", "service_removed", "state_lost", "rolled_back", "unhealthy", "healed", "verification_failed", "state_unwritable", "config_invalid", "rewound", "verification_reset", got "deployed"',
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

Deno.test("a boolean key rejects words that are not booleans", () => {
  const error = configError(() => repo("single_directory_mode: constructor\n"));
  assert.equal(error.reason, 'must be true or false, got "constructor"');
});
