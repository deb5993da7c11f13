/**
 * Deploys of real compose services: the agent runs `docker compose up -d`
 * in the service folders and the containers' real state is checked with
 * `docker inspect` and HTTP requests to 127.0.0.1.
 */
import assert from "node:assert/strict";
import {
  DockerLab,
  dockerTest,
  dockerTime,
  freePort,
} from "./helpers/docker.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

const UP = hookFile({ update_commands: ["docker compose up -d"] });

dockerTest(
  "the first start deploys a compose service: its container runs and answers",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.webImage("v1");
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create(
      lab.serviceFiles(web, { web: { image, port } }, UP),
    );

    await lab.runOnce(fixture.clone);

    const container = await lab.onlyContainer(web);
    assert.equal(container.running, true);
    assert.equal(container.image, image);
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
    const v1 = await lab.webImage("v1");
    const v2 = await lab.webImage("v2");
    const web = lab.service("web");
    const port = freePort();
    await using fixture = await GitFixture.create({
      ...lab.serviceFiles(web, { web: { image: v1, port } }, UP),
      "docs/README.md": "notes\n",
    });
    await lab.runOnce(fixture.clone);
    const [first] = await lab.running(web);
    await lab.waitForBody(port, "web v1\n");

    await fixture.push({ "docs/README.md": "more notes\n" }, "docs only");
    await lab.runOnce(fixture.clone);
    const untouched = await lab.onlyContainer(web);
    assert.equal(untouched.id, first.id);
    assert.equal(untouched.startedAt, first.startedAt);
    assert.equal(untouched.running, true);
    assert.equal(runRows(stateFileOf(fixture.clone), web).length, 1);

    await fixture.push(
      lab.serviceFiles(web, { web: { image: v2, port } }),
      "web: v2",
    );
    await lab.runOnce(fixture.clone);
    const replaced = await lab.onlyContainer(web);
    assert.notEqual(replaced.id, first.id);
    assert.equal(replaced.image, v2);
    assert.equal(replaced.running, true);
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
      ...lab.serviceFiles(db, { db: { image, port: dbPort } }, UP),
      ...lab.serviceFiles(
        api,
        { api: { image, port: apiPort } },
        hookFile({
          depends_on: [db],
          update_commands: ["docker compose up -d"],
        }),
      ),
    });

    await lab.runOnce(fixture.clone);

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
