import assert from "node:assert/strict";
import { defaultRepoConfig } from "./defaults.ts";
import { repo } from "../../tests/helpers/config_parsing.ts";

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

Deno.test("retry_backoff defaults to retry_interval", () => {
  assert.equal(repo("retry_interval: 15\n").config.retryBackoff, 15);
  assert.equal(
    repo("retry_backoff: 5\nretry_interval: 15\n").config.retryBackoff,
    5,
  );
});
