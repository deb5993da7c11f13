/** kill -9 of the agent while `docker compose up` runs, against real containers. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { DockerLab, dockerTest, freePort } from "./helpers/docker.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, hookPid, killGroup } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

dockerTest(
  "kill -9 of the agent during docker compose up: after the restart the service converges to one running container",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.webImage("v1");
    const web = lab.service("web");
    const port = freePort();
    // `up` creates web only once gate exited 0, and gate waits for the file
    // `open`: until the test creates it, `docker compose up` is in progress.
    const gate = await lab.scratchDir("gate");
    const pidFile = join(await lab.scratchDir("hook"), "hook.pid");
    await using fixture = await GitFixture.create({
      [`${web}/docker-compose.yml`]: lab.composeFile({
        gate: {
          image,
          command: ["sh", "-c", "until [ -f /gate/open ]; do sleep 0.2; done"],
          volumes: [`${gate}:/gate`],
        },
        web: {
          image,
          port,
          dependsOn: { gate: "service_completed_successfully" },
        },
      }),
      [`${web}/.update-hooks.yaml`]: hookFile({
        update_commands: [
          `echo $$ > ${shellQuote(pidFile)}; docker compose up -d`,
        ],
      }),
    });
    const state = stateFileOf(fixture.clone);

    let pgid: number | undefined;
    try {
      await using agent = AgentProcess.start(fixture.clone, {
        env: lab.hookEnv(),
      });
      pgid = await hookPid(pidFile);
      await waitUntil(
        async () =>
          (await lab.running(web)).some((c) => c.composeService === "gate"),
        { message: "compose up started the gate container" },
      );

      agent.kill("SIGKILL");
      await agent.exited();
    } finally {
      // What a service manager does to the rest of the agent's process group.
      killGroup(pgid);
    }
    assert.deepEqual(runRows(state, web).map((run) => run.outcome), [
      "running",
    ]);
    assert.equal(
      (await lab.containers(web)).filter((c) => c.composeService === "web")
        .length,
      0,
      "the killed up never got to create web",
    );

    await Deno.writeTextFile(join(gate, "open"), "");
    await lab.runOnce(fixture.clone, 0);

    assert.deepEqual(runRows(state, web).map((run) => run.outcome), [
      "interrupted",
      "succeeded",
    ]);
    const running = await lab.running(web);
    assert.deepEqual(running.map((c) => c.composeService), ["web"]);
    assert.equal(
      (await lab.containers(web)).filter((c) => c.composeService === "web")
        .length,
      1,
    );
    await lab.waitForBody(port, "web v1\n");
  },
);
