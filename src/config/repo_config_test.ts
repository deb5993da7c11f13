import assert from "node:assert/strict";
import { defaultRepoConfig } from "./defaults.ts";
import { repo, REPO_FILE } from "../../tests/helpers/config_parsing.ts";

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

Deno.test("unknown keys inside notify and webhook are warnings too", () => {
  const { warnings } = repo(
    "notify:\n  - url: https://a\n    event: [recovered]\nwebhook:\n  insecure: true\n  secrte: x\n",
  );
  assert.deepEqual(warnings.map((warning) => [warning.key, warning.message]), [
    ["notify[0].event", 'unknown key "event" (did you mean "events"?)'],
    ["webhook.secrte", 'unknown key "secrte" (did you mean "secret"?)'],
  ]);
});
