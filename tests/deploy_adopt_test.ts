/** Deploy and adopt: running named services by hand, and recording services as deployed without running them. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, parseJson, runOnce } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";
import { historyOf } from "./helpers/cli_documents.ts";

Deno.test("deploy runs named services at HEAD even when they are not due, recorded as manual", async () => {
  await using fixture = await GitFixture.create({ "README.md": "infra\n" });
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(
          log,
          "$UPSTREAM_WATCH_SERVICE $UPSTREAM_WATCH_COMMIT $UPSTREAM_WATCH_TRIGGER",
        ),
      ],
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2);
  const plan = await cli([
    "--repo",
    fixture.clone,
    "plan",
    "--no-fetch",
    "--json",
  ]);
  assert.ok(
    parseJson<{ services: { due: boolean }[] }>(plan).services.every((s) =>
      !s.due
    ),
    "nothing is due before the manual deploy",
  );

  const deployed = await cli(["--repo", fixture.clone, "deploy", "api"]);

  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /^api: succeeded \(run \d+\)/m);
  assert.deepEqual((await readLines(log)).slice(2), [`api ${head} manual`]);
  const [newest] = await historyOf(fixture.clone, "api");
  assert.equal(newest.trigger, "manual");
  assert.equal(newest.outcome, "succeeded");
  assert.equal(newest.toCommit, head);
  assert.equal(newest.reason.kind, "manual");

  const all = await cli(["--repo", fixture.clone, "deploy", "--all"]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(
    (await readLines(log)).slice(3).map((line) => line.split(" ")[0]).sort(),
    ["api", "web"],
  );
  const manual = (await historyOf(fixture.clone)).filter((run) =>
    run.trigger === "manual"
  );
  assert.equal(manual.length, 3);
});

Deno.test("deploy and adopt of unknown services exit 2 listing the known ones, running nothing", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  for (const command of [["deploy", "api", "nope"], ["adopt", "ghost"]]) {
    const result = await cli(["--repo", fixture.clone, ...command]);
    assert.equal(result.code, 2, command.join(" "));
    assert.match(result.stderr, /unknown service (nope|ghost)/);
    assert.match(result.stderr, /known services on this host: api, web/);
  }
  const usage = await cli(["--repo", fixture.clone, "deploy"]);
  assert.equal(usage.code, 2);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(stateFileOf(fixture.clone)), []);
});

Deno.test("adopt records services as deployed at HEAD without running hooks; the next run --once runs nothing", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "db/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  const some = await cli(["--repo", fixture.clone, "adopt", "api", "web"]);
  assert.equal(some.code, 0, some.stderr);
  assert.match(
    some.stdout,
    new RegExp(`adopted at ${head.slice(0, 12)}: api, web`),
  );
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(serviceRow(state, "db"), undefined);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(state), [], "adopt records no run");

  const all = await cli(["--repo", fixture.clone, "adopt"]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(serviceRow(state, "db")?.deployed_commit, head);

  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(state), []);
});
