/**
 * No hook is ever unsupervised: however often the agent is killed (during a
 * deploy, a rollback, or between a hook's spawn and the recording of its
 * process group), the next agent stops what the killed one left before
 * anything runs, so two hooks of one service never overlap.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, pause } from "./helpers/agent_process.ts";
import { spawnCli } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { queryState, stateFileOf } from "./helpers/state_db.ts";

/** How long the kill loop runs, all lanes together (the bound: kills stop here, whatever their number). */
const LOOP_MS = 80_000;
/** Repositories killed side by side (each its own agent). */
const LANES = 4;
/**
 * The fewest kills the loop must have made for the test to mean anything.
 * The pauses are wall-clock time, so a slower machine makes about as many
 * (about 300 here).
 */
const MIN_KILLS = 200;

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A command that holds `lock` while it runs; when another command of the
 * service still holds it, it writes `overlap` to `log` first.
 */
function guarded(lock: string, log: string): string {
  const q = shellQuote;
  return `exec 9>>${
    q(lock)
  }; if ! flock -n 9; then echo "overlap $UPSTREAM_WATCH_TRIGGER run $UPSTREAM_WATCH_RUN_ID" >> ${
    q(log)
  }; flock 9; fi; echo "start $UPSTREAM_WATCH_RUN_ID" >> ${
    q(log)
  }; sleep 0.5; echo "end $UPSTREAM_WATCH_RUN_ID" >> ${q(log)}`;
}

/** A revision of `api`: a good one deploys, a bad one fails after its command and is rolled back. */
function revision(lock: string, log: string, n: number, good: boolean) {
  return hookFile({
    update_commands: [guarded(lock, log), ...(good ? [] : ["exit 1"])],
    rollback: true,
    env: { REVISION: String(n) },
  });
}

/**
 * How long after its start an agent is killed: half of the kills fall in its
 * first 700 ms (start-up, recovery, the first spawns and the recording of
 * their process groups), the rest up to 2.5 s, into the deploy's commands and
 * the rollback that follows a failed one.
 */
function killPoint(next: () => number): number {
  return next() < 0.5 ? 100 + next() * 600 : 700 + next() * 1800;
}

/** Kills agents of one repository until `deadline`; returns the kills made. */
async function killLane(
  lane: number,
  deadline: number,
): Promise<
  { kills: number; log: string; fixture: GitFixture; agentLogs: string[] }
> {
  const fixture = await GitFixture.create({});
  const lock = join(fixture.root, "api.lock");
  const log = join(fixture.root, "hooks.log");
  const next = random(22 + lane);
  await fixture.push({
    "api/.update-hooks.yaml": revision(lock, log, 0, true),
  });
  const first = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(first.code, 0, first.stderr);
  let kills = 0;
  const agentLogs: string[] = [];
  for (let n = 1; Date.now() < deadline; n++) {
    // Every other revision fails, so rollbacks are killed as often as deploys.
    await fixture.push({
      "api/.update-hooks.yaml": revision(lock, log, n, n % 2 === 0),
    });
    for (let i = 0; i < 3 && Date.now() < deadline; i++) {
      const agent = AgentProcess.start(fixture.clone, { interval: 0.1 });
      await pause(killPoint(next));
      agent.kill("SIGKILL");
      await agent.exited();
      kills++;
      // The last agents' logs say what each one found and stopped.
      agentLogs.push(`--- agent ${kills}:\n${agent.stderr}`);
      if (agentLogs.length > 4) agentLogs.shift();
    }
  }
  // One last agent stops what the last kill left, then finishes the work.
  const last = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.ok(last.code === 0 || last.code === 1, last.stderr);
  return { kills, log, fixture, agentLogs };
}

Deno.test({
  name:
    "kill -9 of the agent at random points of deploys, rollbacks and hook spawns never lets two hooks of a service overlap",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const deadline = Date.now() + LOOP_MS;
    const lanes = await Promise.all(
      Array.from({ length: LANES }, (_, lane) => killLane(lane, deadline)),
    );
    try {
      const kills = lanes.reduce((sum, lane) => sum + lane.kills, 0);
      // deno-lint-ignore no-console
      console.error(`${kills} kills in ${LANES} repositories`);
      assert.ok(kills >= MIN_KILLS, `only ${kills} kills`);
      let rollbacks = 0;
      let killedRollbacks = 0;
      for (const lane of lanes) {
        const lines = await readLines(lane.log);
        assert.deepEqual(
          lines.filter((line) => line.startsWith("overlap")),
          [],
          `after ${lane.kills} kills:\n${lines.join("\n")}\n${
            lane.agentLogs.join("\n")
          }`,
        );
        const [counts] = queryState(
          stateFileOf(lane.fixture.clone),
          "SELECT count(*) AS n, count(*) FILTER (WHERE outcome = 'interrupted') AS killed FROM runs WHERE trigger = 'rollback'",
        );
        rollbacks += Number(counts.n);
        killedRollbacks += Number(counts.killed);
      }
      // deno-lint-ignore no-console
      console.error(
        `${rollbacks} rollbacks, ${killedRollbacks} of them killed`,
      );
      assert.ok(killedRollbacks > 0, "rollbacks ran and were killed");
    } finally {
      for (const lane of lanes) await lane.fixture[Symbol.asyncDispose]();
    }
  },
});
