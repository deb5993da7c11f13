/** on_failure_commands: what runs after a failed step, and what the run records. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendLine, hookFile, readLines } from "./helpers/hooks.ts";
import { queryState, runRows, stateFileOf } from "./helpers/state_db.ts";

Deno.test("on_failure_commands run after a failed step with UPSTREAM_WATCH_FAILED_STEP; their own failure never replaces the original error", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const marker = join(fixture.root, "on_failure.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      pre_update_commands: ["true"],
      update_commands: [
        "echo about to fail",
        "exit 3",
        appendLine(marker, "never"),
      ],
      post_update_commands: [appendLine(marker, "post never runs")],
      on_failure_commands: [
        appendLine(marker, "$UPSTREAM_WATCH_STEP $UPSTREAM_WATCH_FAILED_STEP"),
        "exit 9",
        appendLine(marker, "after the failing rollback"),
      ],
    }),
    "db/.update-hooks.yaml": hookFile({
      pre_update_commands: ["exit 1"],
      on_failure_commands: [
        appendLine(marker, "db $UPSTREAM_WATCH_FAILED_STEP"),
      ],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual((await readLines(marker)).sort(), [
    "db pre",
    "on_failure update",
  ]);
  const [run] = runRows(state, "api");
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "update");
  assert.match(String(run.error), /update command failed \(exit 3\): exit 3/);
  const commands = queryState(
    state,
    "SELECT step, command, exit_code FROM run_commands WHERE run_id = ? ORDER BY seq",
    run.id,
  );
  assert.deepEqual(
    commands.map((command) => [command.step, command.exit_code]),
    [["pre", 0], ["update", 0], ["update", 3], ["on_failure", 0], [
      "on_failure",
      9,
    ]],
    "the failing on_failure command is recorded, the rest of that list is not run",
  );
  const [dbRun] = runRows(state, "db");
  assert.equal(dbRun.failed_step, "pre");
});
