/** hosts: services for other machines, selected by --host or UPSTREAM_WATCH_HOST. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, parseJson, runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import { statusOf } from "./helpers/cli_documents.ts";

Deno.test("a service for other hosts is neither run nor listed; --host selects it", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "edge/.update-hooks.yaml": appendingHooks(log, { hosts: ["other"] }),
    "api/.update-hooks.yaml": appendingHooks(log),
  });
  const here = ["--host", "this-machine"];

  assert.equal((await runOnce(fixture.clone, here)).code, 0);
  assert.deepEqual(await readLines(log), ["api"]);
  assert.deepEqual([...(await statusOf(fixture.clone, here)).keys()], ["api"]);
  const plan = await cli([
    "--repo",
    fixture.clone,
    ...here,
    "plan",
    "--no-fetch",
    "--json",
  ]);
  assert.deepEqual(
    parseJson<{ services: { name: string }[] }>(plan).services.map((s) =>
      s.name
    ),
    ["api"],
  );
  const deploy = await cli([
    "--repo",
    fixture.clone,
    ...here,
    "deploy",
    "edge",
  ]);
  assert.equal(deploy.code, 2);
  assert.match(deploy.stderr, /known services on this host: api$/m);

  const other = await runOnce(fixture.clone, ["--host", "OTHER"]);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(await readLines(log), ["api", "edge"]);
  assert.deepEqual(
    [...(await statusOf(fixture.clone, ["--host", "other"])).keys()],
    ["api", "edge"],
  );
});

Deno.test("UPSTREAM_WATCH_HOST selects the host; --host wins over it", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "edge/.update-hooks.yaml": appendingHooks(log, { hosts: ["edge-1"] }),
    "core/.update-hooks.yaml": appendingHooks(log, { hosts: ["core-1"] }),
  });
  await git(fixture.clone, "pull", "--quiet");

  const byEnv = await spawnCli(
    ["--repo", fixture.clone, "status", "--json"],
    { env: { UPSTREAM_WATCH_HOST: "edge-1" } },
  );
  assert.equal(byEnv.code, 0, byEnv.stderr);
  const status = parseJson<{ host: string; services: { name: string }[] }>(
    byEnv,
  );
  assert.equal(status.host, "edge-1");
  assert.deepEqual(status.services.map((s) => s.name), ["edge"]);

  const run = await spawnCli(
    ["--repo", fixture.clone, "--host", "core-1", "run", "--once"],
    { env: { UPSTREAM_WATCH_HOST: "edge-1" } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readLines(log), ["core"]);
});
