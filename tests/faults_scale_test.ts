import assert from "node:assert/strict";
import { join } from "node:path";
import { GitFixture } from "./helpers/git_fixture.ts";
import {
  appendTo,
  linesOf,
  query,
  runInProcess,
  runsOf,
  statePath,
  yamlKeys,
} from "./helpers/operations.ts";

/** Every table of a state file, for "nothing was written" comparisons. */
function snapshot(clone: string): string {
  return JSON.stringify(
    ["services", "runs", "run_commands"].map((table) =>
      query(statePath(clone), `SELECT * FROM ${table}`)
    ),
  );
}

function runOnce(repo: string) {
  return runInProcess(["--repo", repo, "run", "--once"]);
}

Deno.test("a 1,000-service repository with one change runs exactly that one service", async () => {
  const log = join(await Deno.makeTempDir(), "ran.log");
  try {
    const files: Record<string, string> = {};
    const hooks = yamlKeys({ update_commands: [appendTo(log)] });
    for (let i = 0; i < 1000; i++) {
      const name = `svc-${String(i).padStart(4, "0")}`;
      files[`${name}/.update-hooks.yaml`] = hooks;
    }
    await using fixture = await GitFixture.create(files);

    const adopted = await runInProcess(["--repo", fixture.clone, "adopt"]);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.equal(
      query(statePath(fixture.clone), "SELECT count(*) AS n FROM services")[0]
        .n,
      1000,
    );
    await fixture.push({
      "svc-0500/.update-hooks.yaml": yamlKeys({
        update_commands: [appendTo(log)],
        env: { VERSION: "2" },
      }),
    });

    const result = await runOnce(fixture.clone);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await linesOf(log), ["svc-0500"]);
    assert.deepEqual(runsOf(fixture.clone).map((run) => run.service), [
      "svc-0500",
    ]);

    const before = snapshot(fixture.clone);
    const idle = await runOnce(fixture.clone);
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual(await linesOf(log), ["svc-0500"]);
    assert.equal(
      snapshot(fixture.clone),
      before,
      "an idle cycle writes nothing",
    );
  } finally {
    await Deno.remove(join(log, ".."), { recursive: true });
  }
});
