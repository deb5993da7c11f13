import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, appendLine, readLines } from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

const MALFORMED = [
  "update_commands:",
  "  - echo fine",
  "  broken: [",
  "",
].join("\n");

Deno.test("malformed YAML in one service fails only that service, naming file and line", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "broken/.update-hooks.yaml": MALFORMED,
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 1, "a failed service makes run --once exit 1");
  assert.deepEqual((await readLines(log)).sort(), ["api", "web"]);
  const state = stateFileOf(fixture.clone);
  const broken = runRows(state).find((row) => row.service === "broken")!;
  assert.equal(broken.outcome, "failed");
  assert.equal(broken.failed_step, "config");
  assert.match(String(broken.error), /broken\/\.update-hooks\.yaml:3\b/);
  assert.equal(serviceRow(state, "broken")?.deployed_commit, null);
  const head = await fixture.cloneHead();
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(serviceRow(state, "web")?.deployed_commit, head);

  const logs = await cli(["--repo", fixture.clone, "logs", String(broken.id)]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /failed at config/);
  assert.match(logs.stdout, /broken\/\.update-hooks\.yaml:3/);
});

Deno.test("validate reports a broken hook file in the work tree with file and line and exits 2", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": "update_commands: [echo api]\n",
    "broken/.update-hooks.yaml": MALFORMED,
  });

  const result = await cli(["--repo", fixture.clone, "validate"]);

  assert.equal(result.code, 2);
  assert.match(result.stderr, /broken\/\.update-hooks\.yaml:3/);
  assert.match(result.stdout, /1 of 2 services valid/);
});

Deno.test("an invalid value in the repository config is a usage error naming file, line and key", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "retry_interval: 60\nsync: sideways\n",
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });

  const result = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 2);
  assert.match(result.stderr, /\.upstream-watch\.yaml:2/);
  assert.match(result.stderr, /sync/);
  assert.deepEqual(await readLines(log), []);
});

Deno.test("a misspelt key is a warning with the closest valid key, not a failure", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "retry_intervall: 30\n",
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": [
      "update_comands:",
      "  - echo never",
      "post_update_commands:",
      `  - ${JSON.stringify(appendLine(log, "api"))}`,
      "",
    ].join("\n"),
  });

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /api\/\.update-hooks\.yaml:1.*update_comands.*did you mean "?update_commands/,
  );
  assert.match(
    result.stderr,
    /\.upstream-watch\.yaml:1.*retry_intervall.*did you mean "?retry_interval/,
  );
  assert.deepEqual(await readLines(log), ["api"]);
});
