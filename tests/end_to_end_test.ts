/** The real entry point in its own process: exit codes, stdout/stderr and log formats as an operator sees them. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";

Deno.test("upstream-watch --help exits 0 and lists the commands", async () => {
  const result = await spawnCli(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: upstream-watch /);
  for (const command of ["run", "plan", "status", "history", "logs"]) {
    assert.match(result.stdout, new RegExp(`^  ${command}\\b`, "m"));
  }
});

Deno.test("run --help exits 0 and describes run", async () => {
  const result = await spawnCli(["run", "--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Usage: upstream-watch run /);
  assert.match(result.stdout, /--once/);
});

Deno.test("a directory that is not a git repository exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "upstream-watch-not-git-" });
  try {
    const result = await spawnCli(["run", "--once"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not a git repository/);
    assert.equal(result.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown option exits 2", async () => {
  const result = await spawnCli(["status", "--frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown option '--frobnicate'/);
});

Deno.test("a non-numeric --limit exits 2", async () => {
  const result = await spawnCli(["history", "--limit", "abc"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /abc/);
});

Deno.test("run --once exits 0 when every service updated and logs JSON lines on request", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo hello from api"],
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await spawnCli([
    "--repo",
    fixture.clone,
    "--log-format",
    "json",
    "run",
    "--once",
  ]);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "", "logs go to stderr");
  assert.deepEqual(await readLines(log), ["web"]);
  const lines = result.stderr.trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.ok(lines.every((line) => line.time && line.level && line.message));
  const output = lines.find((line) => line.message.includes("hello from api"));
  assert.ok(output, result.stderr);
  assert.equal(output.service, "api");
});

Deno.test("run --once exits 1 when a service update failed", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["exit 4"] }),
  });

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 1);
  assert.match(result.stderr, /ERR \[api\] .*exit 4/);
});

Deno.test("run --once exits 3 when the upstream cannot be fetched", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  await git(
    fixture.clone,
    "remote",
    "set-url",
    "origin",
    join(fixture.root, "gone.git"),
  );

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 3);
  assert.match(result.stderr, /upstream-watch: .*origin/);
  assert.deepEqual(await readLines(log), []);
});
