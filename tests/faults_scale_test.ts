import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  stateFileOf,
  stateSnapshot,
} from "./helpers/state_db.ts";

Deno.test("a 1,000-service repository with one change runs exactly that one service", async () => {
  const log = join(await Deno.makeTempDir(), "ran.log");
  try {
    const files: Record<string, string> = {};
    const hooks = appendingHooks(log);
    for (let i = 0; i < 1000; i++) {
      const name = `svc-${String(i).padStart(4, "0")}`;
      files[`${name}/.update-hooks.yaml`] = hooks;
    }
    await using fixture = await GitFixture.create(files);
    const state = stateFileOf(fixture.clone);

    const adopted = await cli(["--repo", fixture.clone, "adopt"]);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.equal(
      queryState(state, "SELECT count(*) AS n FROM services")[0].n,
      1000,
    );
    await fixture.push({
      "svc-0500/.update-hooks.yaml": appendingHooks(log, {
        env: { VERSION: "2" },
      }),
    });

    const result = await runOnce(fixture.clone);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readLines(log), ["svc-0500"]);
    assert.deepEqual(runRows(state).map((run) => run.service), ["svc-0500"]);

    const before = stateSnapshot(state);
    const idle = await runOnce(fixture.clone);
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual(await readLines(log), ["svc-0500"]);
    assert.equal(stateSnapshot(state), before, "an idle cycle writes nothing");
  } finally {
    await Deno.remove(join(log, ".."), { recursive: true });
  }
});
