import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openApp } from "../src/app/compose.ts";
import { StateStore } from "../src/state/store.ts";
import { cli, isolateGitConfig } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import { stateFileOf, stateSnapshot } from "./helpers/state_db.ts";

function serviceNames(count: number): string[] {
  return Array.from(
    { length: count },
    (_, index) => `service-${String(index).padStart(2, "0")}`,
  );
}

/** A fixture with `count` services whose update command is a cheap `true`. */
async function manyServices(count: number): Promise<GitFixture> {
  const fixture = await GitFixture.create({});
  await fixture.push(Object.fromEntries(
    serviceNames(count).map((name) => [
      `${name}/.update-hooks.yaml`,
      hookFile({ update_commands: [["true"]] }),
    ]),
  ));
  return fixture;
}

/** Git processes started by one idle `run --once` (a fresh agent) and by a second idle cycle of the same agent (the daemon). */
async function idleCycleCost(
  fixture: GitFixture,
): Promise<{ freshAgent: number; daemon: number }> {
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  let before = app.git.spawned;
  const first = await app.agent.runCycle({ trigger: "poll" });
  assert.deepEqual(first.runs, [], "nothing is due");
  const freshAgent = app.git.spawned - before;
  before = app.git.spawned;
  const second = await app.agent.runCycle({ trigger: "poll" });
  assert.deepEqual(second.runs, [], "nothing is due");
  return { freshAgent, daemon: app.git.spawned - before };
}

async function deployAll(fixture: GitFixture): Promise<void> {
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  const result = await app.agent.runCycle({ trigger: "poll" });
  assert.equal(result.failed, false);
}

Deno.test("a second run --once with nothing due runs no hook and writes nothing to the state database", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  assert.equal((await readLines(log)).length, 2);
  const state = stateFileOf(fixture.clone);
  const before = stateSnapshot(state);
  const mainFile = await Deno.readFile(state);
  // `data_version` changes for this connection whenever another connection commits.
  const watcher = new DatabaseSync(state, { readOnly: true });
  try {
    const dataVersion = () =>
      (watcher.prepare("PRAGMA data_version").get() as {
        data_version: number;
      }).data_version;
    const versionBefore = dataVersion();

    const result = await cli(["--repo", fixture.clone, "run", "--once"]);

    assert.equal(result.code, 0, result.stderr);
    assert.equal((await readLines(log)).length, 2);
    assert.equal(dataVersion(), versionBefore, "no transaction committed");
  } finally {
    watcher.close();
  }
  assert.equal(stateSnapshot(state), before);
  assert.deepEqual(await Deno.readFile(state), mainFile);
});

Deno.test("an idle cycle starts as many git processes for 30 services as for 3", async () => {
  await using few = await manyServices(3);
  await using many = await manyServices(30);
  await deployAll(few);
  await deployAll(many);

  const fewCost = await idleCycleCost(few);
  const manyCost = await idleCycleCost(many);

  assert.deepEqual(manyCost, fewCost);
  // fetch, rev-parse, one diff, plus a constant few (the service listing of a fresh agent).
  assert.ok(fewCost.daemon <= 5, `daemon idle cycle: ${fewCost.daemon}`);
  assert.ok(fewCost.freshAgent <= 8, `fresh idle cycle: ${fewCost.freshAgent}`);
});

async function adoptAll(fixture: GitFixture): Promise<void> {
  isolateGitConfig();
  await git(fixture.clone, "pull", "--quiet", "--ff-only");
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  await app.agent.adopt("all");
}

Deno.test("an idle cycle starts as many git processes for 3,000 services as for 3", async () => {
  await using few = await manyServices(3);
  await using many = await manyServices(3000);
  // Adopted, not deployed: 3,000 hook runs would only slow the test down.
  await adoptAll(few);
  await adoptAll(many);

  const fewCost = await idleCycleCost(few);
  const manyCost = await idleCycleCost(many);

  assert.deepEqual(manyCost, fewCost);
  assert.ok(fewCost.daemon <= 3, `daemon idle cycle: ${fewCost.daemon}`);
});

/**
 * Services deployed at different commits (each commit touched one service,
 * and the agent polled in between) are the normal steady state. The state is
 * written with `setDeployed` exactly as those polls would have left it, to
 * keep the test fast.
 */
async function deployedAtDistinctCommits(count: number): Promise<GitFixture> {
  const fixture = await manyServices(count);
  const deployedAt = new Map<string, string>();
  for (const name of serviceNames(count)) {
    await Deno.writeTextFile(
      join(fixture.pusher, name, "compose.yaml"),
      "v2\n",
    );
    await git(fixture.pusher, "add", "--all");
    await git(fixture.pusher, "commit", "--quiet", "-m", `bump ${name}`);
    deployedAt.set(name, await git(fixture.pusher, "rev-parse", "HEAD"));
  }
  await git(fixture.pusher, "push", "--quiet", "origin", "HEAD:main");
  await git(fixture.clone, "pull", "--quiet", "--ff-only");
  const store = StateStore.open(stateFileOf(fixture.clone));
  try {
    for (const [name, commit] of deployedAt) {
      store.setDeployed([name], commit, Date.now());
    }
  } finally {
    store.close();
  }
  return fixture;
}

Deno.test({
  name:
    "an idle cycle costs the same git processes when services were deployed at different commits",
  fn: async () => {
    await using few = await deployedAtDistinctCommits(3);
    await using many = await deployedAtDistinctCommits(30);

    const fewCost = await idleCycleCost(few);
    const manyCost = await idleCycleCost(many);

    assert.deepEqual(manyCost, fewCost);
  },
});
