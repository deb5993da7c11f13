/** --log-format json: one JSON object per log line, with the run's fields. */
import assert from "node:assert/strict";
import { type CliResult, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** `run --once` in its own process, logging JSON lines to stderr. */
function runOnceLoggingJson(repo: string): Promise<CliResult> {
  return spawnCli(["--repo", repo, "--log-format", "json", "run", "--once"]);
}

/** The records of the non-empty lines of a JSON log (fails on any other line). */
function jsonRecords(stderr: string) {
  return stderr.split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line)
  );
}

Deno.test("--log-format json writes one JSON object per stderr line; run lines carry service, runId and commit", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo hello from the hook"],
    }),
  });

  const result = await runOnceLoggingJson(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  const records = jsonRecords(result.stderr);
  assert.ok(records.length > 2);
  for (const record of records) {
    assert.equal(typeof record.time, "string");
    assert.ok(!Number.isNaN(Date.parse(record.time)), record.time);
    assert.match(record.level, /^(debug|info|warn|error)$/);
    assert.equal(typeof record.message, "string");
  }
  const [run] = runRows(stateFileOf(fixture.clone), "api");
  const head = await fixture.cloneHead();
  for (const pattern of [/^updating /, /^deployed /]) {
    const record = records.find((record) => pattern.test(record.message));
    assert.equal(record?.service, "api", String(pattern));
    assert.equal(record?.runId, Number(run.id), String(pattern));
    assert.ok(head.startsWith(record?.commit), String(pattern));
  }
});

Deno.test({
  name: "--log-format json: the hook's output lines carry the run id too",
  async fn() {
    await using fixture = await GitFixture.create({});
    await fixture.push({
      "api/.update-hooks.yaml": hookFile({
        update_commands: ["echo hello from the hook"],
      }),
    });
    const result = await runOnceLoggingJson(fixture.clone);
    assert.equal(result.code, 0, result.stderr);
    const records = jsonRecords(result.stderr);
    const [run] = runRows(stateFileOf(fixture.clone), "api");
    const hookLines = records.filter((record) =>
      /hello from the hook/.test(record.message)
    );
    assert.ok(hookLines.length >= 2, "the command and its output line");
    for (const line of hookLines) {
      assert.equal(line.service, "api");
      assert.equal(line.runId, Number(run.id));
    }
    // The same field must mean the same thing on every line of a run.
    const head = await fixture.cloneHead();
    for (const record of records.filter((record) => record.runId)) {
      assert.equal(record.commit, head, record.message);
    }
  },
});

Deno.test({
  name: "--log-format json: a command's final error is a JSON line too",
  async fn() {
    await using fixture = await GitFixture.create({});
    await fixture.push({
      "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    });
    await git(fixture.clone, "commit", "--quiet", "--allow-empty", "-m", "x");

    const result = await runOnceLoggingJson(fixture.clone);

    assert.equal(result.code, 3);
    for (const record of jsonRecords(result.stderr)) {
      assert.equal(typeof record.message, "string");
    }
    assert.match(result.stderr, /diverged/);
  },
});
