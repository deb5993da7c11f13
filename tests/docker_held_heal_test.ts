/**
 * Self-heal of a held service with real containers: after a rollback the
 * service runs the old revision, and when its container is removed by hand the
 * check loop heals it at that revision, never at the held one.
 */
import assert from "node:assert/strict";
import { AgentProcess, WAIT_MS, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson } from "./helpers/cli.ts";
import { docker, DockerLab, dockerTest, freePort } from "./helpers/docker.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, type HookFileKeys } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** Hooks of compose service `web` on `port`, healthy when it runs and its page says `expected`. */
function webHooks(port: number, expected: string, extra: HookFileKeys = {}) {
  return hookFile({
    update_commands: ["docker compose up -d"],
    health_commands: [
      "docker compose ps --services --filter status=running | grep -qx web",
      `wget -q -O- http://127.0.0.1:${port}/ | grep -qx '${expected}'`,
    ],
    health_timeout: 5,
    health_interval: 0.5,
    rollback: true,
    check_interval: 1,
    ...extra,
  });
}

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
        webHooks(port, "web v1"),
      ),
    );
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    const v1 = await fixture.cloneHead();
    const v2 = await fixture.push(
      lab.serviceFiles(
        web,
        { web: { image: silent, command: ["sleep", "3600"] } },
        webHooks(port, "web v2"),
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
    const status = parseJson<{ services: { name: string; state: string }[] }>(
      await cli(["--repo", fixture.clone, "status", "--json"]),
    );
    assert.equal(
      status.services.find((service) => service.name === web)?.state,
      "held",
    );
    assert.equal((await agent.stop()).code, 0);
  },
);
