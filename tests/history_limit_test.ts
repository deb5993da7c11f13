/** history_limit: how many runs of a service are kept. */
import assert from "node:assert/strict";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { queryState, runRows, stateFileOf } from "./helpers/state_db.ts";

Deno.test("history_limit keeps only the newest runs of a service and their output", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ history_limit: 3 }),
  });
  const state = stateFileOf(fixture.clone);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo one", "echo two"],
    }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  for (let i = 0; i < 4; i++) {
    const result = await cli(["--repo", fixture.clone, "deploy", "api"]);
    assert.equal(result.code, 0, result.stderr);
  }

  const apiRuns = runRows(state, "api");
  assert.equal(apiRuns.length, 3);
  const kept = apiRuns.map((run) => Number(run.id));
  const all = queryState(state, "SELECT id FROM runs WHERE service = 'api'");
  assert.equal(all.length, 3);
  const commands = queryState(state, "SELECT run_id FROM run_commands");
  const webRun = Number(runRows(state, "web")[0].id);
  assert.deepEqual(
    [...new Set(commands.map((row) => Number(row.run_id)))].sort((a, b) =>
      a - b
    ),
    [...kept, webRun].sort((a, b) => a - b),
    "commands of pruned runs are gone too",
  );
  assert.equal(commands.length, 3 * 2 + 1);
  assert.equal(Math.max(...kept), Number(runRows(state).at(-1)!.id));
  assert.equal(runRows(state, "web").length, 1, "other services keep theirs");
});
