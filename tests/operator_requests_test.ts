import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { queryState, runRows, stateFileOf } from "./helpers/state_db.ts";

/** A clone with service `web` whose update appends `<trigger> <v>` to `log` (after `extra` commands). */
async function webFixture(
  log: string,
  extra: Record<string, unknown> = {},
): Promise<GitFixture> {
  const fixture = await GitFixture.create({
    "web/.update-hooks.yaml": hookFile({
      update_commands: [
        `echo "$UPSTREAM_WATCH_TRIGGER $(cat v)" >> ${shellQuote(log)}`,
      ],
      ...extra,
    }),
    "web/v": "1\n",
  });
  await git(fixture.clone, "pull", "--quiet");
  return fixture;
}

/** The daemon on `repo`, polling rarely: whatever it does at once was asked for. */
async function startDaemon(repo: string): Promise<AgentProcess> {
  const daemon = AgentProcess.start(repo, { interval: 3600 });
  await daemon.waitForLog(/watching /);
  return daemon;
}

Deno.test("deploy while the daemon runs is carried out by the daemon at once, with the exit code and output of a deploy", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await webFixture(log);
  await using daemon = await startDaemon(fixture.clone);
  await daemon.waitForLog(/deployed /);

  const deployed = await cli(["--repo", fixture.clone, "deploy", "web"]);

  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /^web: succeeded \(run \d+\)\n$/);
  assert.deepEqual(await readLines(log), ["poll 1", "manual 1"]);
  await daemon.waitForLog(/operator request \d+ \(cli\): deploy web/);
  const unknown = await cli(["--repo", fixture.clone, "deploy", "nope"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown service nope/);
  assert.equal((await daemon.stop()).code, 0);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a failing deploy handed to the daemon exits 1; --no-wait returns once the daemon accepted it", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const gate = join(root, "fail");
  await using fixture = await webFixture(log, {
    pre_update_commands: [`test ! -f ${shellQuote(gate)}`],
  });
  await using daemon = await startDaemon(fixture.clone);
  await daemon.waitForLog(/deployed /);
  await Deno.writeTextFile(gate, "");

  const failed = await cli(["--repo", fixture.clone, "deploy", "web"]);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /^web: failed \(run \d+\)/);

  await Deno.remove(gate);
  const queued = await cli([
    "--repo",
    fixture.clone,
    "deploy",
    "web",
    "--no-wait",
  ]);
  assert.equal(queued.code, 0, queued.stderr);
  const id = Number(/request (\d+) handed/.exec(queued.stdout)?.[1]);
  await waitUntil(
    () =>
      queryState(
        stateFileOf(fixture.clone),
        "SELECT exit_code FROM operator_requests WHERE id = ? AND state = 'done'",
        id,
      )[0]?.exit_code === 0,
    { message: "the daemon carried out the request" },
  );
  assert.deepEqual(await readLines(log), ["poll 1", "manual 1"]);
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("two requests for one service never run at once, and a request for a service mid-deploy waits for that deploy", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const release = join(root, "release");
  await using fixture = await GitFixture.create({
    "web/.update-hooks.yaml": hookFile({
      update_commands: [
        `echo "start $UPSTREAM_WATCH_TRIGGER" >> ${shellQuote(log)}`,
        `while [ ! -f ${shellQuote(release)} ]; do sleep 0.05; done`,
        `echo "end $UPSTREAM_WATCH_TRIGGER" >> ${shellQuote(log)}`,
      ],
    }),
  });
  await git(fixture.clone, "pull", "--quiet");
  await using daemon = await startDaemon(fixture.clone);
  // The daemon's first deploy of web hangs until released.
  await waitUntil(async () => (await readLines(log)).length === 1, {
    message: "the first deploy started",
  });

  const first = cli(["--repo", fixture.clone, "deploy", "web"]);
  const second = cli(["--repo", fixture.clone, "deploy", "web"]);
  await waitUntil(
    () =>
      queryState(
        stateFileOf(fixture.clone),
        "SELECT count(*) AS n FROM operator_requests",
      )[0].n === 2,
    { message: "both requests were handed over" },
  );
  assert.deepEqual(await readLines(log), ["start poll"]);
  await Deno.writeTextFile(release, "");
  const results = await Promise.all([first, second]);

  assert.deepEqual(results.map((result) => result.code), [0, 0]);
  assert.deepEqual(await readLines(log), [
    "start poll",
    "end poll",
    "start manual",
    "end manual",
    "start manual",
    "end manual",
  ]);
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("rollback while the daemon runs deploys the earlier commit, holds HEAD's revision until a new one, and deploy releases the hold", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await webFixture(log);
  await using daemon = await startDaemon(fixture.clone);
  await daemon.waitForLog(/deployed /);
  const first = await fixture.cloneHead();
  await fixture.push({ "web/v": "2\n" });
  await daemon.stop();
  assert.equal(
    (await cli(["--repo", fixture.clone, "run", "--once"])).code,
    0,
  );
  await using second = await startDaemon(fixture.clone);

  const rolled = await cli(["--repo", fixture.clone, "rollback", "web"]);

  assert.equal(rolled.code, 0, rolled.stderr);
  assert.match(rolled.stdout, /web: succeeded \(run \d+\)/);
  assert.match(rolled.stdout, /HEAD's revision is held/);
  assert.deepEqual((await readLines(log)).slice(-1), ["rollback 1"]);
  assert.equal(
    await git(fixture.clone, "status", "--porcelain"),
    "",
    "the work tree is back at HEAD",
  );
  const status = parseJson<
    { services: { name: string; deployedCommit: string; state: string }[] }
  >(await cli(["--repo", fixture.clone, "status", "--json"]));
  assert.equal(status.services[0].deployedCommit, first);
  assert.equal(status.services[0].state, "held");
  const rollbackRun = runRows(stateFileOf(fixture.clone), "web").at(-1)!;
  assert.equal(rollbackRun.trigger, "rollback");
  assert.equal(rollbackRun.to_commit, first);

  const released = await cli(["--repo", fixture.clone, "deploy", "web"]);
  assert.equal(released.code, 0, released.stderr);
  assert.deepEqual((await readLines(log)).slice(-1), ["manual 2"]);
  const never = await cli([
    "--repo",
    fixture.clone,
    "rollback",
    "web",
    "--to",
    "HEAD",
  ]);
  assert.equal(never.code, 2);
  assert.match(never.stderr, /deployed at \w+ already/);
  await second.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("check while the daemon runs passes for a healthy service and heals a failing one", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const marker = join(root, "up");
  await using fixture = await webFixture(log, {
    post_update_commands: [`touch ${shellQuote(marker)}`],
    health_commands: [`test -f ${shellQuote(marker)}`],
    health_timeout: 1,
    health_interval: 0.2,
  });
  await using daemon = await startDaemon(fixture.clone);
  await daemon.waitForLog(/deployed /);

  const healthy = await cli(["--repo", fixture.clone, "check", "web"]);
  assert.equal(healthy.code, 0, healthy.stderr);
  assert.match(healthy.stdout, /^web: healthy at \w+\n$/);

  await Deno.remove(marker);
  const healed = await cli(["--repo", fixture.clone, "check", "web"]);
  assert.equal(healed.code, 0, healed.stderr);
  assert.match(healed.stdout, /web: unhealthy at \w+: /);
  assert.match(healed.stdout, /web: succeeded \(run \d+\)/);
  assert.deepEqual(await readLines(log), ["poll 1", "heal 1"]);
  assert.ok(await Deno.stat(marker));
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("check, rollback and deploy without a daemon run in the command itself", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await webFixture(log, {
    health_commands: ["true"],
  });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  await fixture.push({ "web/v": "2\n" });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);

  const checked = await cli(["--repo", fixture.clone, "check", "web"]);
  assert.equal(checked.code, 0, checked.stderr);
  const rolled = await cli(["--repo", fixture.clone, "rollback", "web"]);
  assert.equal(rolled.code, 0, rolled.stderr);
  const heldCheck = await cli(["--repo", fixture.clone, "check", "web"]);
  assert.match(heldCheck.stdout, /the revision it runs; HEAD's is held/);
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  assert.deepEqual(await readLines(log), ["poll 1", "poll 2", "rollback 1"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("requests left by a daemon that stopped are never carried out by the next one", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await webFixture(log);
  const daemon = await startDaemon(fixture.clone);
  await daemon.waitForLog(/deployed /);
  daemon.kill("SIGKILL");
  await daemon.exited();
  // As if a command had handed a request over just before the kill.
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(stateFileOf(fixture.clone));
  db.exec(
    `INSERT INTO operator_requests (action, services, options, source, state, requested_at)
     VALUES ('deploy', '["web"]', '{}', 'cli', 'pending', 0)`,
  );
  db.close();

  await using next = await startDaemon(fixture.clone);
  await next.waitForLog(/operator requests left by the previous daemon/);
  assert.deepEqual(await readLines(log), ["poll 1"]);
  const [row] = queryState(
    stateFileOf(fixture.clone),
    "SELECT state, exit_code FROM operator_requests",
  );
  assert.deepEqual({ ...row }, { state: "done", exit_code: 4 });
  await next.stop();
  await Deno.remove(root, { recursive: true });
});
