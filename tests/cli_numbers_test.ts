import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { cli, runOnce, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { stateFileOf } from "./helpers/state_db.ts";

async function deployedFixture(): Promise<GitFixture> {
  const fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  return fixture;
}

/** Asserts a one-line usage error (exit 2) that names `option` and matches `reason`. */
function assertUsageError(
  result: { code: number; stderr: string },
  option: string,
  reason: RegExp,
): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.split("\n").filter((line) =>
    line !== "" && !line.startsWith("(add --help")
  );
  assert.equal(lines.length, 1, result.stderr);
  assert.ok(lines[0].includes(option), `${option} named in: ${lines[0]}`);
  assert.match(lines[0], reason);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

Deno.test("--interval must be a decimal number of seconds from 0.01 to 2147483", async () => {
  await using fixture = await deployedFixture();
  const repo = ["--repo", fixture.clone];
  for (const value of ["2147484", "99999999", "0.0000001", "0", "0x1", "1e3"]) {
    const result = await cli([...repo, "run", "--interval", value]);
    assertUsageError(result, "--interval", /is not a number|out of range/);
  }
});

Deno.test("history --limit takes a whole number from 1 to 1000000, never a stack trace", async () => {
  await using fixture = await deployedFixture();
  const repo = ["--repo", fixture.clone];
  for (
    const value of ["99999999999999999999", "1000001", "0x1", "1e3", "2.5"]
  ) {
    const result = await spawnCli([...repo, "history", "--limit", value]);
    assertUsageError(result, "--limit", /is not a whole number|out of range/);
  }
  const ok = await cli([...repo, "history", "--limit", "1000000"]);
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("logs takes a decimal run id: 0x1, 1e3 and a 21-digit id are usage errors", async () => {
  await using fixture = await deployedFixture();
  const repo = ["--repo", fixture.clone];
  const big = await cli([...repo, "logs", "999999999999999999999"]);
  assertUsageError(big, "run-id", /out of range/);
  assert.doesNotMatch(big.stderr, /1e\+21/);
  for (const value of ["0x1", "1e3", "+1", "1.0"]) {
    assertUsageError(
      await cli([...repo, "logs", value]),
      "run-id",
      /is not a whole number/,
    );
  }
  const first = await cli([...repo, "logs", "1"]);
  assert.equal(first.code, 0, first.stderr);
  const missing = await cli([...repo, "logs", "9007199254740991"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /run 9007199254740991 not found/);
});

Deno.test("a state file missing a table is a one-line state error naming the file, exit 2", async () => {
  await using fixture = await deployedFixture();
  const state = stateFileOf(fixture.clone);
  const db = new DatabaseSync(state);
  db.exec("DROP TABLE runs");
  db.close();

  for (const args of [["history"], ["status"], ["run", "--once"]]) {
    const result = await spawnCli(["--repo", fixture.clone, ...args]);
    assert.equal(result.code, 2, `${args}: ${result.stderr}`);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0],
      /^upstream-watch: state file .*\.upstream-watch\.sqlite is missing table runs/,
    );
  }
});

Deno.test("an unexpected error is one line without a stack trace; --log-level debug adds the stack", async () => {
  await using fixture = await deployedFixture();
  const state = stateFileOf(fixture.clone);
  // A run row the code cannot read: its reason is not JSON.
  const db = new DatabaseSync(state);
  db.exec("UPDATE runs SET reason = 'not json'");
  db.close();

  const plain = await spawnCli(["--repo", fixture.clone, "history"]);
  assert.equal(plain.code, 1);
  assert.equal(plain.stderr.trim().split("\n").length, 1, plain.stderr);
  assert.match(plain.stderr, /^upstream-watch: internal error: /);

  const debug = await spawnCli([
    "--repo",
    fixture.clone,
    "--log-level",
    "debug",
    "history",
  ]);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /\n\s+at /, "the stack at debug level");
});
