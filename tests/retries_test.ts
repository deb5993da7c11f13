/** Retries of a failing service: backoff, max_attempts, and the hold until a new revision or a manual deploy. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pause } from "./helpers/agent_process.ts";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import {
  appendLine,
  hookFile,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";
import { statusOf } from "./helpers/cli_documents.ts";

Deno.test("a failing service is retried with backoff up to max_attempts, then waits for a new revision or a manual deploy", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 3, retry_backoff: 0.2 }),
  });
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(log, "api $UPSTREAM_WATCH_COMMIT"),
        "exit 1",
      ],
    }),
    "web/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "web")],
    }),
  });
  const attempts = async () =>
    await pathExists(state) ? runRows(state, "api").length : 0;

  // Cycles keep coming; the service is tried again only once its backoff elapsed, three times in all.
  const deadline = Date.now() + 20_000;
  while (await attempts() < 3) {
    assert.ok(Date.now() < deadline, "three attempts within 20 s");
    const result = await runOnce(fixture.clone);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    await pause(100);
  }
  assert.deepEqual(
    runRows(state, "api").map((run) => [run.attempt, run.outcome]),
    [[1, "failed"], [2, "failed"], [3, "failed"]],
  );
  // Each retry waited at least its backoff: 0.2 s, then twice that.
  const [first, second, third] = runRows(state, "api");
  assert.ok(Number(second.started_at) - Number(first.finished_at) >= 200);
  assert.ok(Number(third.started_at) - Number(second.finished_at) >= 400);
  const exhausted = (await statusOf(fixture.clone)).get("api")!;
  assert.equal(exhausted.failedAttempts, 3);
  assert.equal(exhausted.hold?.kind, "exhausted");
  assert.equal(exhausted.due, false);
  assert.equal(exhausted.outOfDate, true);

  // Long after any backoff, it still waits.
  await pause(1000);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await attempts(), 3);

  // A commit elsewhere neither re-triggers nor resets it.
  await fixture.push({ "web/index.html": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await attempts(), 3);
  assert.equal(
    (await statusOf(fixture.clone)).get("api")!.hold?.kind,
    "exhausted",
  );

  // A manual deploy runs it whatever the attempts.
  const manual = await cli(["--repo", fixture.clone, "deploy", "api"]);
  assert.equal(manual.code, 1);
  assert.equal(await attempts(), 4);
  assert.equal(runRows(state, "api")[3].trigger, "manual");

  // A new commit touching it starts again at attempt 1.
  const fixCommit = await fixture.push({ "api/compose.yaml": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  const latest = runRows(state, "api").at(-1)!;
  assert.equal(latest.attempt, 1);
  assert.equal(latest.revision, fixCommit);
  assert.equal((await statusOf(fixture.clone)).get("api")!.failedAttempts, 1);
});

Deno.test("status shows a failing service's attempts and when its next attempt is due; it does not run before", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 5, retry_backoff: 600 }),
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log), "exit 1"],
    }),
  });
  const before = Date.now();
  assert.equal((await runOnce(fixture.clone)).code, 1);

  const api = (await statusOf(fixture.clone)).get("api")!;
  assert.equal(api.failedAttempts, 1);
  assert.equal(api.due, false);
  assert.equal(api.hold?.kind, "backoff");
  assert.equal(api.hold?.attempts, 1);
  assert.ok(Date.parse(api.hold!.nextAttemptAt!) >= before + 600_000);
  assert.equal(api.lastRun?.outcome, "failed");
  const table = await cli(["--repo", fixture.clone, "status"]);
  assert.match(table.stdout, /attempt 1\/5/);
  assert.match(table.stdout, /waiting: failed 1×, next attempt at /);

  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await readLines(log), ["api"], "held back by its backoff");
});

Deno.test("the backoff doubles per failed attempt and is capped at one hour", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 5, retry_backoff: 1000 }),
  });
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["exit 1"] }),
  });
  const delay = async () => {
    const api = (await statusOf(fixture.clone)).get("api")!;
    assert.equal(api.hold?.kind, "backoff");
    return Date.parse(api.hold!.nextAttemptAt!) -
      Date.parse(api.lastRun!.finishedAt!);
  };

  assert.equal((await runOnce(fixture.clone)).code, 1);
  assert.equal(await delay(), 1000_000);
  // Manual deploys count as attempts at the same revision too.
  const deploy = ["--repo", fixture.clone, "deploy", "api"];
  assert.equal((await cli(deploy)).code, 1);
  assert.equal(await delay(), 2000_000);
  assert.equal((await cli(deploy)).code, 1);
  assert.equal(await delay(), 3600_000, "4000 s capped at 1 h");
  assert.equal((await statusOf(fixture.clone)).get("api")!.failedAttempts, 3);
});
