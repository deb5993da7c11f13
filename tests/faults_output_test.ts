import assert from "node:assert/strict";
import { spawnCliMeasured } from "./helpers/agent_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { queryState, runRows, stateFileOf } from "./helpers/state_db.ts";

// Apart from the other fault tests: the slowest one, so it runs in parallel with them.

Deno.test("a hook writing 50 MB of output is recorded with only the last 64 KiB, in bounded memory", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  await fixture.push({
    "noisy/.update-hooks.yaml": hookFile({
      update_commands: [
        "yes 'a line of output from a very chatty hook' | head -c 52428800; echo; echo THE-LAST-LINE",
      ],
    }),
  });

  // The V8 heap is capped below the output's size (as a JS string it would be 100 MB):
  // keeping the whole output would crash the agent.
  const result = await spawnCliMeasured(
    ["--repo", fixture.clone, "--log-level", "warn", "run", "--once"],
    { v8Flags: "--max-old-space-size=48" },
  );

  assert.equal(result.code, 0, result.stderr.slice(-2000));
  if (result.peakRssBytes !== undefined) {
    // Measured ~130 MiB for 50 MB and for 200 MB of output alike (~60 MiB idle);
    // holding the output whole would add 50 MB of bytes plus 100 MB of string.
    assert.ok(
      result.peakRssBytes < 192 * 1024 * 1024,
      `peak RSS ${Math.round(result.peakRssBytes / 1048576)} MiB`,
    );
  }
  const [run] = runRows(state, "noisy");
  assert.equal(run.outcome, "succeeded");
  const [command] = queryState(
    state,
    "SELECT output, truncated FROM run_commands WHERE run_id = ?",
    run.id,
  );
  const output = String(command.output);
  assert.ok(
    new TextEncoder().encode(output).length <= 64 * 1024,
    `${output.length}`,
  );
  assert.ok(output.length > 60 * 1024, "the tail is kept, not dropped");
  assert.equal(command.truncated, 1);
  assert.ok(output.endsWith("\nTHE-LAST-LINE\n"), output.slice(-200));
  assert.ok(output.includes("\na line of output from a very chatty hook\n"));
});
