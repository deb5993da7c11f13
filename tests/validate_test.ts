import assert from "node:assert/strict";
import { cli, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";

const HOOKS = "update_commands: ['true']\n";

Deno.test("validate rejects a notify target that run would reject, without needing its secrets", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "notify:\n  - url: ftp://example.com/${TOKEN}\n",
    "api/.update-hooks.yaml": HOOKS,
  });
  const result = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /notify\[0\]/);
});

Deno.test("validate accepts notify targets whose secrets are not set on this machine", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml":
      "notify:\n  - url: ntfy://ntfy.example.com/deploys?token=${NOT_SET_HERE}\n",
    "api/.update-hooks.yaml": HOOKS,
  });
  const result = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /1 of 1 services valid/);
});

Deno.test("a top-level folder without a hook file is logged at debug level, not as a problem", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": HOOKS,
    "docs/readme.md": "not a service\n",
  });
  const quiet = await spawnCli(["--repo", fixture.clone, "validate"]);
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stderr, /docs/);
  const debug = await spawnCli([
    "--repo",
    fixture.clone,
    "--log-level",
    "debug",
    "validate",
  ]);
  assert.equal(debug.code, 0);
  assert.match(
    debug.stderr,
    /DBG docs\/ has no \.update-hooks\.yaml: not a service/,
  );
});

Deno.test("notify errors name the --config file they come from", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": HOOKS,
  });
  const config = `${fixture.root}/agent-settings.yaml`;
  await Deno.writeTextFile(
    config,
    "notify:\n  - url: https://hooks.example.com/${UPSTREAM_WATCH_TEST_UNSET}\n",
  );
  const result = await cli([
    "--repo",
    fixture.clone,
    "--config",
    config,
    "run",
    "--once",
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /agent-settings\.yaml/);
  assert.match(result.stderr, /UPSTREAM_WATCH_TEST_UNSET/);
});
