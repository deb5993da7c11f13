/**
 * Real containers when things go wrong or go away: a `docker compose up`
 * that fails, a rollback in `on_failure_commands`, and a service folder
 * removed with `on_remove_commands: ["docker compose down"]`.
 */
import assert from "node:assert/strict";
import { spawnCli } from "./helpers/cli.ts";
import {
  DockerLab,
  dockerTest,
  dockerTime,
  freePort,
} from "./helpers/docker.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

dockerTest(
  "a failing compose up is a failed run with docker's error in its logs, and on_failure_commands bring the old container back",
  async () => {
    await using lab = await DockerLab.create();
    const good = await lab.webImage("v1");
    const broken = await lab.buildImage("web", "broken", { kind: "broken" });
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create(
      lab.serviceFiles(
        web,
        { web: { image: good, port } },
        hookFile({
          update_commands: ["docker compose up -d"],
          // The rollback: the compose file of the commit deployed before, read
          // from git, brought up again under the same project (this folder).
          on_failure_commands: [
            'git show "$UPSTREAM_WATCH_PREVIOUS_COMMIT:./docker-compose.yml" | docker compose -f - up -d',
          ],
        }),
      ),
    );
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    const [before] = await lab.running(web);

    await fixture.push(
      lab.serviceFiles(web, { web: { image: broken, port } }),
      "web: broken image",
    );
    await lab.runOnce(fixture.clone, 1);

    const runs = runRows(stateFileOf(fixture.clone), web);
    assert.equal(runs.length, 2);
    assert.equal(runs[1].outcome, "failed");
    assert.equal(runs[1].failed_step, "update");
    const logs = await spawnCli([
      "--repo",
      fixture.clone,
      "logs",
      String(runs[1].id),
    ]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /no-such-program/);
    assert.match(
      logs.stdout,
      /Encountered errors while bringing up the project/,
    );

    // Real state: the failed up stopped the old container; the rollback
    // started a container of the old image again, and it answers.
    const running = await lab.running(web);
    assert.equal(running.length, 1);
    assert.equal(running[0].image, good);
    assert.ok(
      dockerTime(running[0].startedAt) > dockerTime(before.startedAt),
      `started again (${
        running[0].startedAt
      }) after the first deploy (${before.startedAt})`,
    );
    await lab.waitForBody(port, "web v1\n");
  },
);

dockerTest(
  "removing the service folder runs docker compose down from the old files and removes its containers",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.webImage("v1");
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create({
      ...lab.serviceFiles(
        web,
        { web: { image, port } },
        hookFile({
          update_commands: ["docker compose up -d"],
          on_remove_commands: ["docker compose down"],
        }),
      ),
      "docs/README.md": "notes\n",
    });
    await lab.runOnce(fixture.clone, 0);
    await lab.waitForBody(port, "web v1\n");
    assert.equal((await lab.running(web)).length, 1);

    await fixture.push({ [web]: null }, "web: retired");
    await lab.runOnce(fixture.clone, 0);

    assert.deepEqual(await lab.containers(web), []);
    assert.equal(await lab.httpBody(port), undefined);
    const runs = runRows(stateFileOf(fixture.clone), web);
    assert.equal(runs.length, 2);
    assert.equal(runs[1].outcome, "succeeded");
  },
);
