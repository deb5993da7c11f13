/**
 * Deploy safety against real containers: a broken image version caught by
 * its health check and rolled back to the old container, a killed container
 * healed by the check loop, a held service whose removed container is healed
 * at the revision it runs, and a suspended service whose stopped container
 * stays stopped.
 */
import assert from "node:assert/strict";
import {
  AgentProcess,
  pause,
  WAIT_MS,
  waitUntil,
} from "./helpers/agent_process.ts";
import { cli, parseJson } from "./helpers/cli.ts";
import {
  docker,
  DockerLab,
  dockerTest,
  dockerTime,
  freePort,
} from "./helpers/docker.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, type HookFileKeys } from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

/**
 * Hooks of a compose service `web` serving on `port`, healthy when compose
 * sees it running and its page, fetched from the host, says `expected`.
 */
function webHooks(
  port: number,
  expected: string,
  extra: HookFileKeys = {},
): string {
  return hookFile({
    update_commands: ["docker compose up -d"],
    health_commands: [
      "docker compose ps --services --filter status=running | grep -qx web",
      `wget -q -O- http://127.0.0.1:${port}/ | grep -qx '${expected}'`,
    ],
    health_timeout: 5,
    health_interval: 0.5,
    ...extra,
  });
}

/** The runs of `service`, none while the daemon has not created the state file yet. */
function runsSoFar(state: string, service: string) {
  try {
    return runRows(state, service);
  } catch (error) {
    if (/unable to open|no such table/.test(String(error))) return [];
    throw error;
  }
}

async function workTreeStatus(clone: string): Promise<string> {
  return await git(clone, "status", "--porcelain");
}

dockerTest(
  "an image version that runs but does not serve fails its health check and is rolled back: the old container is back, answering, and the revision is held",
  async () => {
    await using lab = await DockerLab.create();
    const good = await lab.webImage("v1");
    // Starts fine (so `docker compose up -d` succeeds) and never listens.
    const silent = await lab.webImage("v2");
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create(
      lab.serviceFiles(
        web,
        { web: { image: good, port } },
        webHooks(port, "web v1", { rollback: true }),
      ),
    );
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    const v1 = await fixture.cloneHead();
    const first = await lab.onlyContainer(web);

    const v2 = await fixture.push(
      lab.serviceFiles(
        web,
        { web: { image: silent, command: ["sleep", "3600"] } },
        webHooks(port, "web v2", { rollback: true }),
      ),
      "web: v2",
    );
    await lab.runOnce(fixture.clone, 1);

    const state = stateFileOf(fixture.clone);
    const runs = runRows(state, web);
    assert.deepEqual(
      runs.map((run) => [run.trigger, run.outcome, run.failed_step]),
      [
        ["poll", "succeeded", null],
        ["poll", "failed", "health"],
        ["rollback", "succeeded", null],
      ],
    );
    assert.equal(runs[1].to_commit, v2);
    assert.equal(runs[2].to_commit, v1);
    assert.equal(serviceRow(state, web)?.deployed_commit, v1);

    // Real state: one container, of the old image, started after the first
    // deploy's (the v2 `up` replaced it, the rollback's `up` replaced that).
    const back = await lab.onlyContainer(web);
    assert.equal(back.image, good);
    assert.equal(back.running, true);
    assert.notEqual(back.id, first.id);
    assert.ok(
      dockerTime(back.startedAt) > dockerTime(first.startedAt),
      `started (${back.startedAt}) after the first deploy (${first.startedAt})`,
    );
    await lab.waitForBody(port, "web v1\n");
    assert.equal(await workTreeStatus(fixture.clone), "");
    assert.equal(await fixture.cloneHead(), v2, "the clone stays at HEAD");

    // Held: the next cycle runs nothing and leaves the container alone.
    await lab.runOnce(fixture.clone, 0);
    assert.equal(runRows(state, web).length, 3);
    const after = await lab.onlyContainer(web);
    assert.equal(after.id, back.id);
    assert.equal(after.startedAt, back.startedAt);
    await lab.waitForBody(port, "web v1\n");
    assert.equal(await workTreeStatus(fixture.clone), "");
  },
);

dockerTest(
  "a container that exits at start (up -d passes, health fails) and a missing entrypoint (up -d fails) are both rolled back to the old container, which answers again",
  async () => {
    await using lab = await DockerLab.create();
    const good = await lab.webImage("v1");
    // Its command exits at once: `up -d` passes, only the health check
    // sees that nothing runs.
    const dying = await lab.webImage("v2");
    const broken = await lab.buildImage("web", "broken", { kind: "broken" });
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create(
      lab.serviceFiles(
        web,
        { web: { image: good, port } },
        webHooks(port, "web v1", { rollback: true }),
      ),
    );
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    const state = stateFileOf(fixture.clone);

    // A container that starts and exits 1 at once: `up -d` succeeds.
    await fixture.push(
      lab.serviceFiles(web, {
        web: { image: dying, command: ["sh", "-c", "exit 1"] },
      }),
      "web: v2 exits at start",
    );
    await lab.runOnce(fixture.clone, 1);
    let runs = runRows(state, web);
    assert.deepEqual(
      runs.slice(1).map((run) => [run.trigger, run.outcome, run.failed_step]),
      [["poll", "failed", "health"], ["rollback", "succeeded", null]],
    );
    let back = await lab.onlyContainer(web);
    assert.equal(back.image, good);
    assert.equal(back.running, true);
    await lab.waitForBody(port, "web v1\n");
    assert.equal(await workTreeStatus(fixture.clone), "");

    // An entrypoint that does not exist: `up -d` itself fails.
    await fixture.push(
      lab.serviceFiles(web, { web: { image: broken } }),
      "web: broken entrypoint",
    );
    await lab.runOnce(fixture.clone, 1);
    runs = runRows(state, web);
    assert.deepEqual(
      runs.slice(3).map((run) => [run.trigger, run.outcome, run.failed_step]),
      [["poll", "failed", "update"], ["rollback", "succeeded", null]],
    );
    back = await lab.onlyContainer(web);
    assert.equal(back.image, good);
    assert.equal(back.running, true);
    await lab.waitForBody(port, "web v1\n");
    assert.equal(await workTreeStatus(fixture.clone), "");

    await lab.runOnce(fixture.clone, 0);
    assert.equal(runRows(state, web).length, 5, "the revision is held");
  },
);

dockerTest(
  "docker kill of a healthy service's container is healed by the check loop: a heal run succeeds and the container runs and answers again",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.webImage("v1");
    const web = lab.service("web");
    const port = freePort();
    const checkInterval = 1;
    await using fixture = await GitFixture.create(
      lab.serviceFiles(
        web,
        { web: { image, port } },
        webHooks(port, "web v1", {
          check_interval: checkInterval,
          // Small, yet room for `docker compose ps` on a busy machine.
          health_timeout: 3,
        }),
      ),
    );
    const state = stateFileOf(fixture.clone);
    await using agent = AgentProcess.start(fixture.clone, {
      interval: 60,
      env: lab.hookEnv(),
    });
    await waitUntil(
      () => runsSoFar(state, web).some((run) => run.outcome === "succeeded"),
      { message: `the first deploy succeeded:\n${agent.stderr}` },
    );
    await lab.waitForBody(port, "web v1\n");
    const before = await lab.onlyContainer(web);
    // Let a few checks pass first: none of them may redeploy.
    await pause(3 * checkInterval * 1000);
    assert.equal(runRows(state, web).length, 1);

    await docker(["kill", before.id]);
    const [killed] = await lab.inspect([before.id]);
    assert.equal(killed.running, false);

    // Detecting takes up to one interval plus the health timeout; the heal
    // itself is one `up -d`. Bounded well above that.
    await waitUntil(
      () =>
        runRows(state, web).some((run) =>
          run.trigger === "heal" && run.outcome === "succeeded"
        ),
      {
        message: `a heal run succeeded:\n${agent.stderr}`,
        timeoutMs: WAIT_MS,
      },
    );
    const healed = await lab.running(web);
    assert.equal(healed.length, 1);
    const [inspected] = await lab.inspect([healed[0].id]);
    assert.equal(inspected.running, true);
    assert.ok(
      dockerTime(inspected.startedAt) > dockerTime(before.startedAt),
      `started again (${inspected.startedAt}) after the kill`,
    );
    await lab.waitForBody(port, "web v1\n");
    const runs = runRows(state, web);
    assert.deepEqual(runs.map((run) => [run.trigger, run.outcome]), [
      ["poll", "succeeded"],
      ["heal", "succeeded"],
    ]);
    assert.equal(runs[1].to_commit, runs[0].to_commit);

    const stopped = await agent.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
  },
);

dockerTest(
  "a suspended service's stopped container stays stopped over cycles, pushes and a polling daemon, and resume deploys it again",
  async () => {
    await using lab = await DockerLab.create();
    const v1 = await lab.webImage("v1");
    const v2 = await lab.webImage("v2");
    const web = lab.service("web");
    const port = freePort();
    // Checks on: a suspended service must not be healed either. Without the
    // suspension a heal would start within interval + timeout (3.5 s) of the
    // daemon's start, inside the 5 s the test watches.
    const hooks = (expected: string) =>
      webHooks(port, expected, { check_interval: 0.5, health_timeout: 3 });
    await using fixture = await GitFixture.create(
      lab.serviceFiles(web, { web: { image: v1, port } }, hooks("web v1")),
    );
    const state = stateFileOf(fixture.clone);
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");

    const suspended = await cli([
      "--repo",
      fixture.clone,
      "suspend",
      web,
      "--reason",
      "maintenance",
    ]);
    assert.equal(suspended.code, 0, suspended.stderr);
    const container = await lab.onlyContainer(web);
    await docker(["stop", container.id]);
    const assertStillStopped = async (when: string) => {
      const [now] = await lab.inspect([container.id]);
      assert.equal(now.running, false, `stopped ${when}`);
      assert.equal((await lab.containers(web)).length, 1, when);
      assert.equal(runRows(state, web).length, 1, `no run ${when}`);
    };
    await assertStillStopped("after docker stop");

    {
      // Up to date and checked every half second: only the suspension keeps
      // the check loop from healing the stopped container.
      await using agent = AgentProcess.start(fixture.clone, {
        interval: 0.2,
        env: lab.hookEnv(),
      });
      for (let sample = 0; sample < 25; sample++) {
        await pause(200);
        await assertStillStopped(`while the daemon checks (${sample})`);
      }
      const pushed = await fixture.push(
        lab.serviceFiles(web, { web: { image: v2, port } }, hooks("web v2")),
        "web: v2",
      );
      await waitUntil(async () => (await fixture.cloneHead()) === pushed, {
        message: `the daemon synced the push:\n${agent.stderr}`,
      });
      for (let sample = 0; sample < 10; sample++) {
        await pause(200);
        await assertStillStopped(`while the daemon polls (${sample})`);
      }
      const stopped = await agent.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
    await assertStillStopped("after the daemon stopped");

    const notes = await fixture.push({ [`${web}/notes.txt`]: "v2 notes\n" });
    for (let cycle = 1; cycle <= 3; cycle++) {
      await lab.runOnce(fixture.clone, 0);
      await assertStillStopped(`after cycle ${cycle}`);
    }
    assert.equal(await fixture.cloneHead(), notes, "the clone was synced");

    const resumed = await cli(["--repo", fixture.clone, "resume", web]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await lab.runOnce(fixture.clone, 0);

    const runs = runRows(state, web);
    assert.deepEqual(runs.map((run) => [run.trigger, run.outcome]), [
      ["poll", "succeeded"],
      ["poll", "succeeded"],
    ]);
    assert.equal(runs[1].to_commit, await fixture.cloneHead());
    const running = await lab.running(web);
    assert.equal(running.length, 1);
    assert.equal(running[0].image, v2);
    await lab.waitForBody(port, "web v2\n");
  },
);

/** A service that rolls back and is checked every second. */
const HELD_HEAL: HookFileKeys = { rollback: true, check_interval: 1 };

dockerTest(
  "a held service whose container is removed by hand is healed at the revision it runs, not the held one",
  async () => {
    await using lab = await DockerLab.create();
    const good = await lab.webImage("v1");
    const silent = await lab.webImage("v2");
    const web = lab.service("operator-web");
    const port = freePort();
    await using fixture = await GitFixture.create(
      lab.serviceFiles(
        web,
        { web: { image: good, port } },
        webHooks(port, "web v1", HELD_HEAL),
      ),
    );
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    const v1 = await fixture.cloneHead();
    const v2 = await fixture.push(
      lab.serviceFiles(
        web,
        { web: { image: silent, command: ["sleep", "3600"] } },
        webHooks(port, "web v2", HELD_HEAL),
      ),
      "web: v2",
    );
    await lab.runOnce(fixture.clone, 1);
    await lab.waitForBody(port, "web v1\n");
    const state = stateFileOf(fixture.clone);
    const rolledBack = runRows(state, web).length;

    await using agent = AgentProcess.start(fixture.clone, {
      interval: 60,
      env: lab.hookEnv(),
    });
    await agent.waitForLog(/watching /);
    const before = await lab.onlyContainer(web);
    await docker(["rm", "-f", before.id]);

    await waitUntil(
      () =>
        runRows(state, web).slice(rolledBack).some((run) =>
          run.trigger === "heal" && run.outcome === "succeeded"
        ),
      { message: `a heal run succeeded:\n${agent.stderr}`, timeoutMs: WAIT_MS },
    );
    const healed = await lab.onlyContainer(web);
    assert.equal(healed.image, good, "the old image runs again");
    assert.equal(healed.running, true);
    assert.notEqual(healed.id, before.id);
    await lab.waitForBody(port, "web v1\n");
    const heals = runRows(state, web).slice(rolledBack);
    assert.ok(heals.every((run) => run.to_commit === v1), "healed at v1");
    assert.ok(heals.every((run) => run.trigger === "heal"));
    assert.equal(await git(fixture.clone, "status", "--porcelain"), "");
    assert.equal(await fixture.cloneHead(), v2, "the clone stays at HEAD");
    // The incident closes at the first check that passes after the heal.
    const stateOf = async () =>
      parseJson<{ services: { name: string; state: string }[] }>(
        await cli(["--repo", fixture.clone, "status", "--json"]),
      ).services.find((service) => service.name === web)?.state;
    await waitUntil(async () => await stateOf() === "held", {
      message: "status --json says held",
      timeoutMs: WAIT_MS,
      intervalMs: 250,
    });
    assert.equal((await agent.stop()).code, 0);
  },
);
