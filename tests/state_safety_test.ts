/** A state file that goes missing, empty or replaced is never silently taken for "never deployed". */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { spawnCli } from "./helpers/cli.ts";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, pathExists, readLines } from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import { queryState, stateFileOf } from "./helpers/state_db.ts";

/** The marker a clone's git dir keeps once it has a state file. */
function markerOf(clone: string): string {
  return join(clone, ".git", "upstream-watch", "state-id");
}

function stateIdIn(file: string): string {
  const [row] = queryState(
    file,
    "SELECT value FROM state_meta WHERE key = 'state_id'",
  );
  return String(row.value);
}

/** A clone with two services deployed once by `run --once`; `ran.log` lists the runs. */
async function deployedFixture(
  config: Record<string, string> = {},
): Promise<{ fixture: GitFixture; log: string; state: string }> {
  const fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ...config,
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  const first = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual((await readLines(log)).sort(), ["api", "web"]);
  return { fixture, log, state: stateFileOf(fixture.clone) };
}

/** The daemon's exit, waited for a bounded time (a daemon that does not notice would run forever). */
async function exitOf(agent: AgentProcess) {
  await waitUntil(() => agent.status, {
    message: `the daemon exits:\n${agent.stderr}`,
  });
  return await agent.exited();
}

const LOST_CHOICES =
  /this clone had one .*Restore it from a backup, run "upstream-watch adopt".* --fresh-state/;

Deno.test("the first start on a new clone needs no flag and records the state file's id in the git dir", async () => {
  const { fixture, state } = await deployedFixture();
  await using _ = fixture;
  const marker = (await Deno.readTextFile(markerOf(fixture.clone))).trim();
  assert.equal(marker, stateIdIn(state));
});

Deno.test("status and plan on a new clone create neither the state file nor the marker", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks("/dev/null") });
  for (const command of [["status"], ["plan", "--no-fetch"]]) {
    const result = await spawnCli(["--repo", fixture.clone, ...command]);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.equal(await pathExists(stateFileOf(fixture.clone)), false);
  assert.equal(await pathExists(markerOf(fixture.clone)), false);
});

Deno.test("a deleted state file stops run, deploy, status and plan with exit 2 naming the choices; nothing runs", async () => {
  const { fixture, log, state } = await deployedFixture();
  await using _ = fixture;
  await Deno.remove(state);

  for (
    const command of [
      ["run", "--once"],
      ["deploy", "api"],
      ["status"],
      ["plan", "--no-fetch"],
    ]
  ) {
    const result = await spawnCli(["--repo", fixture.clone, ...command]);
    assert.equal(result.code, 2, `${command}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /state file .*\.upstream-watch\.sqlite is missing/,
    );
    assert.match(result.stderr, LOST_CHOICES);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  }
  assert.equal(await pathExists(state), false, "no new state file was made");
  assert.equal((await readLines(log)).length, 2, "no service ran again");
});

Deno.test("a zero-length state file (a full disk) stops run with exit 2", async () => {
  const { fixture, log, state } = await deployedFixture();
  await using _ = fixture;
  await Deno.writeFile(state, new Uint8Array());

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /is empty \(0 bytes\)/);
  assert.match(result.stderr, LOST_CHOICES);
  assert.equal((await readLines(log)).length, 2);
  assert.equal((await Deno.stat(state)).size, 0, "the file is left as found");
});

Deno.test("--fresh-state starts a new state file after a loss: every service runs again", async () => {
  const { fixture, log, state } = await deployedFixture();
  await using _ = fixture;
  const before = stateIdIn(state);
  await Deno.remove(state);

  const result = await spawnCli([
    "--repo",
    fixture.clone,
    "run",
    "--once",
    "--fresh-state",
  ]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /is missing; starting a new, empty one/);
  assert.deepEqual((await readLines(log)).sort(), ["api", "api", "web", "web"]);
  const after = stateIdIn(state);
  assert.notEqual(after, before);
  assert.equal(
    (await Deno.readTextFile(markerOf(fixture.clone))).trim(),
    after,
  );
  const again = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await readLines(log)).length, 4);
});

Deno.test("adopt recovers from a lost state file without running anything", async () => {
  const { fixture, log, state } = await deployedFixture();
  await using _ = fixture;
  await Deno.remove(state);

  const adopt = await spawnCli(["--repo", fixture.clone, "adopt"]);
  assert.equal(adopt.code, 0, adopt.stderr);
  const run = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(run.code, 0, run.stderr);

  assert.equal((await readLines(log)).length, 2, "nothing ran again");
});

Deno.test("a restored backup of the state file is used as it is", async () => {
  const { fixture, log, state } = await deployedFixture();
  await using _ = fixture;
  const backup = join(fixture.root, "backup.sqlite");
  const db = new DatabaseSync(state);
  db.exec(`VACUUM INTO '${backup}'`);
  db.close();
  await Deno.remove(state);
  await Deno.rename(backup, state);

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /not the one this clone used/);
  assert.equal((await readLines(log)).length, 2);
});

Deno.test("the daemon stops with exit 2 and sends state_lost (sync_failed to targets without it) when its state file is deleted", async () => {
  await using receiver = Receiver.start();
  const { fixture, log, state } = await deployedFixture({
    // A target that knows only sync_failed receives state_lost as that.
    ".upstream-watch.yaml":
      `notify: [{ url: "${receiver.url}/lost", events: [state_lost] }, { url: "${receiver.url}/sync", events: [sync_failed] }]\n`,
  });
  await using _ = fixture;
  await using agent = AgentProcess.start(fixture.clone, { interval: 0.2 });
  await agent.waitForLog(/watching /);
  await Deno.remove(state);

  const result = await exitOf(agent);

  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /state file .* was removed while upstream-watch was running; stopped/,
  );
  const requests = await receiver.waitFor(2);
  const events = new Map(
    requests.map((request) => [request.path, JSON.parse(request.body)]),
  );
  assert.equal(events.get("/lost")?.event, "state_lost");
  assert.match(events.get("/lost")?.error, /was removed/);
  assert.equal(events.get("/sync")?.event, "sync_failed");
  // A restart refuses too, until the operator chooses.
  const restart = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(restart.code, 2, restart.stderr);
  assert.equal((await readLines(log)).length, 2, "nothing was redeployed");
});

Deno.test("the daemon stops with exit 2 when its state file is replaced by another file", async () => {
  const { fixture, state } = await deployedFixture();
  await using _ = fixture;
  await using agent = AgentProcess.start(fixture.clone, { interval: 0.2 });
  await agent.waitForLog(/watching /);
  const copy = join(fixture.root, "copy.sqlite");
  await Deno.copyFile(state, copy);
  await Deno.rename(copy, state);

  const result = await exitOf(agent);

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /was replaced by another file/);
});
