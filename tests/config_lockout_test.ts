/**
 * A pushed configuration can never lock the agent out: one that cannot be
 * used is refused at once, the last good one (kept in the state file) stays in
 * effect — across restarts too — and the refusal is logged, notified once per
 * commit and shown by `status` and `/healthz`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "./helpers/agent_process.ts";
import { cli, runOnce, spawnCli } from "./helpers/cli.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort, Receiver } from "./helpers/http_receiver.ts";
import {
  allowedSigners,
  signPushesWithSsh,
  sshKey,
} from "./helpers/signing.ts";

function appendVersion(log: string, version: string): string {
  return hookFile({
    update_commands: [`echo ${version} >> ${shellQuote(log)}`],
  });
}

function eventsOf(receiver: Receiver, name: string) {
  return receiver.requests.map((request) => JSON.parse(request.body))
    .filter((event) => event.event === name);
}

Deno.test("a pushed configuration with an unset variable is refused at once; the last good one stays in effect, across a restart", async () => {
  await using receiver = Receiver.start();
  const webhook =
    `webhook:\n  listen: "127.0.0.1:${freePort()}"\n  insecure: true\n`;
  const notify = `notify:\n  - url: ${receiver.url}/hook\n`;
  const config = `${webhook}${notify}`;
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": config,
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendVersion(log, "v1") });
  {
    await using daemon = await DaemonProcess.start([
      "--repo",
      fixture.clone,
      "run",
      "--interval",
      "0.3",
    ]);
    await waitUntil(async () => (await readLines(log)).length === 1, {
      message: "v1 deployed",
    });
    const bad = await fixture.push({
      ".upstream-watch.yaml":
        `${webhook}  read_token: \${UW_TEST_UNSET_TOKEN}\n${notify}`,
    });
    await daemon.process.waitForLog(
      /repository configuration at [0-9a-f]{12} cannot be used: .*UW_TEST_UNSET_TOKEN/,
    ).catch((error) => {
      throw new Error(`${error.message}\n${daemon.process.stderr}`);
    });
    await waitUntil(() => eventsOf(receiver, "config_invalid").length === 1, {
      message: "config_invalid was sent",
    });
    assert.equal(eventsOf(receiver, "config_invalid")[0].toCommit, bad);
    const health = await fetch(`${daemon.url}/healthz`);
    assert.equal(health.status, 503);
    assert.match(await health.text(), /UW_TEST_UNSET_TOKEN/);
    const status = await cli(["--repo", fixture.clone, "status"]);
    assert.match(
      status.stdout,
      /cannot be used: .*UW_TEST_UNSET_TOKEN.*; the last good configuration is in effect/,
    );
    // The last good configuration keeps deploying.
    await fixture.push({ "api/.update-hooks.yaml": appendVersion(log, "v2") });
    await waitUntil(async () => (await readLines(log)).length === 2, {
      message: "v2 deployed under the last good configuration",
    });
    assert.equal(daemon.process.status, undefined, "the daemon still runs");
  }
  await fixture.push({ "api/.update-hooks.yaml": appendVersion(log, "v3") });
  const restart = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(
    restart.stderr,
    /cannot be used: .*UW_TEST_UNSET_TOKEN.*; starting with the last good configuration/,
  );
  assert.deepEqual(await readLines(log), ["v1", "v2", "v3"]);
  // Once per bad commit, across restarts.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(eventsOf(receiver, "config_invalid").length, 1);

  // A good configuration clears the refusal.
  await fixture.push({ ".upstream-watch.yaml": config });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const status = await cli(["--repo", fixture.clone, "status"]);
  assert.doesNotMatch(status.stdout, /cannot be used/);
});

Deno.test("a trusted commit that moves allowed_signers into the work tree is refused and the agent keeps verifying with the last good key", async () => {
  await using fixture = await GitFixture.create({});
  const key = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed_signers"), [
    { principal: "alice@example.test", key },
  ]);
  await signPushesWithSsh(fixture, key);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": `verify:\n  allowed_signers: ${signers}\n`,
    "api/.update-hooks.yaml": appendVersion(log, "v1"),
  }, "signed setup");
  await git(fixture.clone, "pull", "--quiet");
  assert.equal((await runOnce(fixture.clone)).code, 0);

  const inside = join(fixture.clone, "keys", "allowed_signers");
  await fixture.push({
    ".upstream-watch.yaml": `verify:\n  allowed_signers: ${inside}\n`,
    "keys/allowed_signers": await Deno.readTextFile(signers),
    "api/.update-hooks.yaml": appendVersion(log, "v2"),
  });
  const moved = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(
    moved.stderr,
    /inside the work tree; .*keeping the last good/,
    moved.stderr,
  );
  assert.deepEqual(await readLines(log), ["v1", "v2"]);

  // It starts again too, still verifying with the key outside the work tree.
  const again = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /starting with the last good configuration/);
});

Deno.test("validate --ref checks a commit's configuration with the rules the agent applies", async () => {
  await using fixture = await GitFixture.create({});
  const good = await fixture.push({
    ".upstream-watch.yaml":
      "notify:\n  - url: https://hooks.example.test/${UW_TEST_HOOK_TOKEN}\n",
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  const inside = join(fixture.clone, "keys", "allowed_signers");
  const bad = await fixture.push({
    ".upstream-watch.yaml": `verify:\n  allowed_signers: ${inside}\n`,
  });
  await git(fixture.clone, "fetch", "--quiet");
  const atGood = await cli([
    "--repo",
    fixture.clone,
    "validate",
    "--ref",
    good,
  ]);
  assert.equal(atGood.code, 0, atGood.stderr);
  assert.match(atGood.stderr, /\$\{UW_TEST_HOOK_TOKEN\} is not set here/);
  const atBad = await cli(["--repo", fixture.clone, "validate", "--ref", bad]);
  assert.equal(atBad.code, 2);
  assert.match(atBad.stderr, /inside the work tree/);
  const unknown = await cli([
    "--repo",
    fixture.clone,
    "validate",
    "--ref",
    "no-such-ref",
  ]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no-such-ref is not a commit/);
});
