import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { appendLine, hookFile, readLines } from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  serviceRow,
  stateFileOf,
} from "./helpers/state_db.ts";

Deno.test("a health command is retried every interval until it passes, and the run succeeds", async () => {
  await using fixture = await GitFixture.create({});
  const counter = join(fixture.root, "attempts");
  const log = join(fixture.root, "ran.log");
  // Passes on the third attempt.
  const health = `n=$(cat ${
    shellQuote(counter)
  } 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${
    shellQuote(counter)
  }; echo "attempt $n step $UPSTREAM_WATCH_STEP"; [ $n -ge 3 ]`;
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "update")],
      post_update_commands: [appendLine(log, "post")],
      health_commands: [health, appendLine(log, "health-2")],
      health_interval: 0.1,
      health_timeout: 20,
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["update", "post", "health-2"]);
  const state = stateFileOf(fixture.clone);
  const run = runRows(state, "api")[0];
  assert.equal(run.outcome, "succeeded");
  const commands = queryState(
    state,
    "SELECT step, exit_code, output FROM run_commands WHERE run_id = ? AND step = 'health' ORDER BY seq",
    Number(run.id),
  );
  assert.deepEqual(commands.map((command) => command.exit_code), [1, 1, 0, 0]);
  assert.match(String(commands[0].output), /attempt 1 step health/);
  assert.match(String(commands[2].output), /attempt 3 step health/);
});

Deno.test("a health check that never passes fails the run at step health, runs on_failure with FAILED_STEP=health, and logs shows every attempt", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "update")],
      health_commands: ["echo not ready yet; exit 3"],
      health_interval: 0.2,
      health_timeout: 1,
      on_failure_commands: [
        appendLine(log, "failed at $UPSTREAM_WATCH_FAILED_STEP"),
      ],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["update", "failed at health"]);
  const state = stateFileOf(fixture.clone);
  const run = runRows(state, "api")[0];
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "health");
  assert.match(String(run.error), /health check did not pass within 1 s/);
  assert.equal(serviceRow(state, "api")?.deployed_commit, null);
  const attempts = queryState(
    state,
    "SELECT COUNT(*) AS n FROM run_commands WHERE run_id = ? AND step = 'health'",
    Number(run.id),
  )[0].n as number;
  assert.ok(attempts >= 2, `retried: ${attempts} attempts`);
  const logs = await cli(["--repo", fixture.clone, "logs", String(run.id)]);
  assert.equal(logs.code, 0);
  const shown = logs.stdout.match(/^not ready yet$/gm) ?? [];
  assert.equal(shown.length, attempts, logs.stdout);
});

Deno.test("a hanging health command is killed with its children at the step's deadline", async () => {
  await using fixture = await GitFixture.create({});
  const pidFile = join(fixture.root, "child.pid");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      // A child that would outlive its shell if only the shell were killed.
      health_commands: [
        `sleep 60 & echo $! > ${shellQuote(pidFile)}; wait`,
      ],
      health_timeout: 1,
      health_interval: 0.1,
    }),
  });

  const started = Date.now();
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.ok(Date.now() - started < 20_000, "the deadline ended the step");
  const run = runRows(stateFileOf(fixture.clone), "api")[0];
  assert.equal(run.failed_step, "health");
  assert.match(String(run.error), /timed out/);
  const pid = Number((await Deno.readTextFile(pidFile)).trim());
  let alive = true;
  for (let i = 0; i < 50 && alive; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      alive = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
    } catch {
      alive = false;
    }
    if (alive) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(alive, false, "the health command's child was killed");
});
