/**
 * Deploys of real compose services: the agent runs `docker compose up -d`
 * in the service folders and the containers' real state is checked with
 * `docker inspect` and HTTP requests to 127.0.0.1.
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

/** One `run --once` of the agent with the docker shim first on PATH; fails unless it exits `code`. */
async function runOnce(
  lab: DockerLab,
  fixture: GitFixture,
  code = 0,
): Promise<void> {
  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"], {
    env: lab.hookEnv(),
  });
  assert.equal(result.code, code, result.stderr);
}

const UP = hookFile({ update_commands: ["docker compose up -d"] });

dockerTest(
  "the first start deploys a compose service: its container runs and answers",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.buildImage("web", "v1", {
      kind: "http",
      page: "web v1\n",
    });
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create({
      [`${web}/docker-compose.yml`]: lab.composeFile({
        web: { image, port },
      }),
      [`${web}/.update-hooks.yaml`]: UP,
    });

    await runOnce(lab, fixture);

    const containers = await lab.containers(web);
    assert.equal(containers.length, 1);
    assert.equal(containers[0].running, true);
    assert.equal(containers[0].image, image);
    await lab.waitForBody(port, "web v1\n");
    assert.deepEqual(
      runRows(stateFileOf(fixture.clone), web).map((run) => run.outcome),
      ["succeeded"],
    );
  },
);

dockerTest(
  "a push changing the service replaces its container; a push elsewhere leaves it untouched",
  async () => {
    await using lab = await DockerLab.create();
    const v1 = await lab.buildImage("web", "v1", {
      kind: "http",
      page: "web v1\n",
    });
    const v2 = await lab.buildImage("web", "v2", {
      kind: "http",
      page: "web v2\n",
    });
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create({
      [`${web}/docker-compose.yml`]: lab.composeFile({
        web: { image: v1, port },
      }),
      [`${web}/.update-hooks.yaml`]: UP,
      "docs/README.md": "notes\n",
    });
    await runOnce(lab, fixture);
    const [first] = await lab.running(web);
    await lab.waitForBody(port, "web v1\n");

    await fixture.push({ "docs/README.md": "more notes\n" }, "docs only");
    await runOnce(lab, fixture);
    const untouched = await lab.containers(web);
    assert.equal(untouched.length, 1);
    assert.equal(untouched[0].id, first.id);
    assert.equal(untouched[0].startedAt, first.startedAt);
    assert.equal(untouched[0].running, true);
    assert.equal(runRows(stateFileOf(fixture.clone), web).length, 1);

    await fixture.push({
      [`${web}/docker-compose.yml`]: lab.composeFile({
        web: { image: v2, port },
      }),
    }, "web: v2");
    await runOnce(lab, fixture);
    const replaced = await lab.containers(web);
    assert.equal(replaced.length, 1);
    assert.notEqual(replaced[0].id, first.id);
    assert.equal(replaced[0].image, v2);
    assert.equal(replaced[0].running, true);
    await lab.waitForBody(port, "web v2\n");
  },
);

dockerTest(
  "depends_on: the dependency's container is up before the dependent's compose up runs",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.buildImage("web", "v1", {
      kind: "http",
      page: "up\n",
    });
    // "api" sorts before "db": only depends_on can make db go first.
    const api = lab.service("api");
    const db = lab.service("db");
    const apiPort = freePort();
    const dbPort = freePort();
    await using fixture = await GitFixture.create({
      [`${db}/docker-compose.yml`]: lab.composeFile({
        db: { image, port: dbPort },
      }),
      [`${db}/.update-hooks.yaml`]: UP,
      [`${api}/docker-compose.yml`]: lab.composeFile({
        api: { image, port: apiPort },
      }),
      [`${api}/.update-hooks.yaml`]: hookFile({
        depends_on: [db],
        update_commands: ["docker compose up -d"],
      }),
    });

    await runOnce(lab, fixture);

    const [dbContainer] = await lab.running(db);
    const [apiContainer] = await lab.running(api);
    assert.ok(dbContainer && apiContainer, "both containers run");
    assert.ok(
      dockerTime(dbContainer.startedAt) < dockerTime(apiContainer.created),
      `db started (${dbContainer.startedAt}) before api was created (${apiContainer.created})`,
    );
    await lab.waitForBody(dbPort, "up\n");
    await lab.waitForBody(apiPort, "up\n");
  },
);
