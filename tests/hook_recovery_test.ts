import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { spawnCli } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  groupAlive,
  hookFile,
  hookPid,
  killGroup,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/**
 * An update command that writes `start RUN` and `end RUN` to `markers` and its
 * pid to `pids/RUN`; the first run sleeps long enough to outlive a killed agent.
 */
function markerHook(markers: string, pids: string): string {
  const run = "$UPSTREAM_WATCH_RUN_ID";
  return hookFile({
    update_commands: [
      `echo "start ${run}" >> ${shellQuote(markers)}; echo $$ > ${
        shellQuote(pids)
      }/${run}; if [ ${run} = 1 ]; then sleep 8; else sleep 0.3; fi; echo "end ${run}" >> ${
        shellQuote(markers)
      }`,
    ],
  });
}

Deno.test("after kill -9 of the agent mid-hook, the restart stops the hook left running before it runs the service again", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const markers = join(fixture.root, "markers");
  const pids = join(fixture.root, "pids");
  await Deno.mkdir(pids);
  await fixture.push({ "api/.update-hooks.yaml": markerHook(markers, pids) });
  let first: number | undefined;
  try {
    {
      await using agent = AgentProcess.start(fixture.clone);
      first = await hookPid(join(pids, "1"));
      // The group is recorded just after the spawn; under load the hook may start first.
      await waitUntil(() => runRows(state, "api")[0]?.pgid != null, {
        message: "the run records the hook's process group",
      });
      agent.kill("SIGKILL");
      await agent.exited();
    }
    assert.ok(groupAlive(first), "the hook outlived the agent");

    const restart = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

    assert.equal(restart.code, 0, restart.stderr);
    // The first copy is gone: it can never write "end 1" after "start 2".
    await waitUntil(() => !groupAlive(first!), {
      message: "the first copy of the hook is gone",
    });
    assert.deepEqual(await readLines(markers), ["start 1", "start 2", "end 2"]);
    assert.match(
      restart.stderr,
      new RegExp(`run 1 of api: .*process group ${first}\\b.*outlived`),
    );
    assert.deepEqual(
      runRows(state, "api").map((run) => [run.id, run.outcome, run.pgid]),
      [[1, "interrupted", null], [2, "succeeded", null]],
    );
  } finally {
    killGroup(first);
  }
});

/** `signal` stops the daemon gracefully: the running hook finishes, exit 0, its run recorded succeeded. */
async function assertGracefulStop(signal: Deno.Signal): Promise<void> {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const markers = join(fixture.root, "markers");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `echo started >> ${shellQuote(markers)}; sleep 1; echo done >> ${
          shellQuote(markers)
        }`,
      ],
    }),
  });
  await using agent = AgentProcess.start(fixture.clone);
  await waitUntil(async () => (await readLines(markers)).length > 0, {
    message: "the hook started",
  });

  agent.kill(signal);
  const { code } = await agent.exited();

  assert.equal(code, 0, agent.stderr);
  assert.match(agent.stderr, /stopping: no new cycles/);
  assert.deepEqual(await readLines(markers), ["started", "done"]);
  assert.deepEqual(runRows(state, "api").map((run) => run.outcome), [
    "succeeded",
  ]);
}

Deno.test("SIGHUP stops the daemon gracefully: the running hook finishes, exit 0, nothing left running", async () => {
  await assertGracefulStop("SIGHUP");
});

Deno.test("SIGQUIT stops the daemon gracefully like SIGTERM: the running hook finishes, exit 0", async () => {
  await assertGracefulStop("SIGQUIT");
});
