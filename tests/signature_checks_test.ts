/**
 * How one commit's signature is judged: key validity at the time the agent
 * first checked it, trust stores of the configured format only, replace
 * objects ignored, verdicts that follow the key file's content, and refusals
 * that name their reason.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openApp } from "../src/app.ts";
import { cli, isolateGitConfig, runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GIT_ENV, GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  readLines,
} from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import { signedFixture } from "./helpers/signed_fixture.ts";
import {
  allowedSigners,
  gpgKey,
  pushSignedWithGpg,
  signPushesWithSsh,
  sshKey,
} from "./helpers/signing.ts";

/** An allowed-signers line for `key` with `options` (e.g. `valid-before="20200101"`). */
async function signerLine(
  principal: string,
  key: string,
  options = "",
): Promise<string> {
  const [type, blob] = (await Deno.readTextFile(`${key}.pub`)).split(" ");
  return `${principal} ${options ? `${options} ` : ""}${type} ${blob}\n`;
}

/** `YYYYMMDDHHMMSS` in local time, as allowed-signers options take it. */
function sshTime(at: number): string {
  const date = new Date(at);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${
    two(date.getDate())
  }${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

Deno.test("an expired key is refused for a back-dated commit: validity is judged when the agent first checks it", async () => {
  const { fixture, log, key, signers } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await Deno.writeTextFile(
    signers,
    await signerLine("alice@example.test", key, 'valid-before="20200101"'),
  );
  await Deno.writeTextFile(join(fixture.pusher, "api/x"), "1");
  await git(fixture.pusher, "add", "--all");
  const dated = await new Deno.Command("git", {
    args: ["commit", "--quiet", "-m", "back-dated"],
    cwd: fixture.pusher,
    env: { ...GIT_ENV, GIT_COMMITTER_DATE: "2019-06-01T12:00:00Z" },
  }).output();
  assert.ok(dated.success);
  await git(fixture.pusher, "push", "--quiet", "origin", "HEAD:main");
  const backdated = await fixture.pusherHead();
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 3);
  assert.match(result.stderr, new RegExp(backdated.slice(0, 12)));
  assert.match(
    result.stderr,
    /the key expired: .*allowed_signers:1 allows it until 2020-01-01/,
  );
  assert.equal((await readLines(log)).length, 1, "nothing ran");
});

Deno.test("a key that expires after the agent first checked a commit still admits that commit", async () => {
  const { fixture, log, signers } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const bob = await sshKey(fixture.root, "bob");
  await signPushesWithSsh(fixture, bob);
  await fixture.push({ "api/x": "1" }, "signed by bob, not yet allowed");
  const refused = await runOnce(fixture.clone);
  const checkedBy = Date.now();
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /not one of the allowed signers/);
  // bob is allowed until just after that first check, and that time has passed.
  await Deno.writeTextFile(
    signers,
    (await Deno.readTextFile(signers)) +
      await signerLine(
        "bob@example.test",
        bob,
        `valid-before="${sshTime(checkedBy + 1000)}"`,
      ),
  );
  while (Date.now() < checkedBy + 2500) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const admitted = await runOnce(fixture.clone);
  assert.equal(admitted.code, 0, admitted.stderr);
  assert.equal((await readLines(log)).length, 2);
});

Deno.test("under allowed_signers an OpenPGP-signed commit is refused and named, whatever the agent user's own keyring trusts", async () => {
  const { fixture, log } = await signedFixture("");
  await using _ = fixture;
  await using signer = await gpgKey(fixture.root, "Bob <bob@example.test>");
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await Deno.writeTextFile(join(fixture.pusher, "api/x"), "1");
  await git(fixture.pusher, "add", "--all");
  await pushSignedWithGpg(fixture, {
    home: signer.home,
    signingKey: "bob@example.test",
  }, "gpg signed");
  // The agent's user has bob's key (ultimately trusted) in its own GnuPG home.
  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"], {
    env: { GNUPGHOME: signer.home },
  });
  assert.equal(result.code, 3);
  assert.match(
    result.stderr,
    /carries an OpenPGP signature, and verify\.allowed_signers accepts only SSH signatures/,
  );
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("under gpg_keyring an SSH-signed commit is refused and named, whatever the agent user's git config allows", async () => {
  await using fixture = await GitFixture.create({});
  await using signer = await gpgKey(fixture.root, "Bob <bob@example.test>");
  const alice = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed"), [
    { principal: "alice@example.test", key: alice },
  ]);
  const userConfig = join(fixture.root, "user.gitconfig");
  await Deno.writeTextFile(
    userConfig,
    `[gpg "ssh"]\n\tallowedSignersFile = ${signers}\n`,
  );
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": `verify:\n  gpg_keyring: ${signer.keyring}\n`,
    "api/.update-hooks.yaml": appendingHooks(log),
  }, "no signature yet");
  await git(fixture.clone, "pull", "--quiet");
  await signPushesWithSsh(fixture, alice);
  const sshSigned = await fixture.push({ "api/x": "1" }, "ssh signed");
  const failure = await spawnCli(["--repo", fixture.clone, "run", "--once"], {
    env: { GIT_CONFIG_GLOBAL: userConfig },
  });
  assert.equal(failure.code, 3, "the cycle must be refused");
  assert.match(
    failure.stderr,
    new RegExp(
      `${
        sshSigned.slice(0, 12)
      } .*carries an SSH signature, and verify\\.gpg_keyring accepts only OpenPGP signatures`,
    ),
  );
  assert.equal((await readLines(log)).length, 0);
});

Deno.test("a commit verified but not deployed is refused once its key is removed, without a restart", async () => {
  const { fixture, log, other, signers } = await signedFixture("");
  await using _ = fixture;
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  await app.agent.runCycle({ trigger: "poll" });
  assert.equal((await readLines(log)).length, 1);
  const target = await fixture.push({ "api/x": "1" }, "signed by alice");
  // A local edit makes the move fail after the commit verified.
  await Deno.writeTextFile(join(fixture.clone, "api/.update-hooks.yaml"), "x");
  await assert.rejects(
    app.agent.runCycle({ trigger: "poll" }),
    /uncommitted changes/,
  );
  await git(fixture.clone, "checkout", "--", "api/.update-hooks.yaml");
  await allowedSigners(signers, [{
    principal: "mallory@example.test",
    key: other,
  }]);
  await assert.rejects(
    app.agent.runCycle({ trigger: "poll" }),
    new RegExp(`${target.slice(0, 12)} .*not one of the allowed signers`),
  );
  assert.notEqual(await fixture.cloneHead(), target);
  assert.equal((await readLines(log)).length, 1, "nothing ran");
});

Deno.test("a refused commit is admitted once its key is added, without a restart or a new commit", async () => {
  const { fixture, log, key, other, signers } = await signedFixture("");
  await using _ = fixture;
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  await app.agent.runCycle({ trigger: "poll" });
  await signPushesWithSsh(fixture, other);
  const target = await fixture.push({ "api/x": "1" }, "signed by mallory");
  await assert.rejects(
    app.agent.runCycle({ trigger: "poll" }),
    /not one of the allowed signers/,
  );
  await allowedSigners(signers, [
    { principal: "alice@example.test", key },
    { principal: "mallory@example.test", key: other },
  ]);
  await app.agent.runCycle({ trigger: "poll" });
  assert.equal(await fixture.cloneHead(), target);
  assert.equal((await readLines(log)).length, 2);
});

Deno.test("a refs/replace object in the clone cannot swap the tree of a signed commit", async () => {
  const { fixture, log } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const replaced = join(fixture.root, "replaced.log");
  // An unsigned tree with another hook, on a side branch the clone fetches.
  await git(fixture.pusher, "checkout", "--quiet", "-b", "evil");
  await signPushesWithSsh(fixture, null);
  await Deno.writeTextFile(
    join(fixture.pusher, "api/.update-hooks.yaml"),
    hookFile({ update_commands: [appendLine(replaced)] }),
  );
  await git(fixture.pusher, "commit", "--quiet", "-am", "evil tree");
  await git(fixture.pusher, "push", "--quiet", "origin", "evil");
  await git(fixture.pusher, "checkout", "--quiet", "main");
  await signPushesWithSsh(fixture, join(fixture.root, "alice"));
  const signed = await fixture.push({ "api/x": "1" }, "signed");
  await git(fixture.clone, "fetch", "--quiet", "origin", "main", "evil");
  await git(
    fixture.clone,
    "replace",
    await git(fixture.clone, "rev-parse", `${signed}^{tree}`),
    await git(fixture.clone, "rev-parse", "origin/evil^{tree}"),
  );
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 0, result.stderr);
  assert.equal((await readLines(log)).length, 2, "the signed tree's hook ran");
  assert.deepEqual(
    await readLines(replaced),
    [],
    "the replaced tree never ran",
  );
  assert.equal(
    await git(fixture.clone, "--no-replace-objects", "status", "--porcelain"),
    "",
    "the work tree holds the signed commit's files",
  );
});

Deno.test("refusals name their reason: namespace, missing signers file", async () => {
  const { fixture, log, key, signers } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await Deno.writeTextFile(
    signers,
    await signerLine("alice@example.test", key, 'namespaces="file"'),
  );
  await fixture.push({ "api/x": "1" }, "signed");
  const namespace = await runOnce(fixture.clone);
  assert.equal(namespace.code, 3);
  assert.match(
    namespace.stderr,
    /namespace mismatch: .*allowed_signers:1 allows the key only for namespaces "file", not "git"/,
  );
  await Deno.remove(signers);
  const missing = await runOnce(fixture.clone);
  assert.equal(missing.code, 3);
  assert.match(
    missing.stderr,
    /the allowed-signers file .*allowed_signers cannot be read: file not found/,
  );
  assert.doesNotMatch(missing.stderr, /not signed/);
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("a signed commit that names another key file keeps the recorded one until verify-reset, which is notified", async () => {
  await using receiver = Receiver.start();
  const { fixture, log, other } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const mallorys = await allowedSigners(join(fixture.root, "mallorys"), [
    { principal: "mallory@example.test", key: other },
  ]);
  await fixture.push({
    ".upstream-watch.yaml":
      `verify:\n  allowed_signers: ${mallorys}\nnotify:\n  - ${receiver.url}/hook\n`,
    "api/x": "1",
  }, "signed by alice: trust mallory's file");
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await signPushesWithSsh(fixture, other);
  const mallorysCommit = await fixture.push({ "api/x": "2" }, "by mallory");
  const refused = await runOnce(fixture.clone);
  assert.equal(refused.code, 3, "the recorded allowed_signers still judge");
  assert.match(
    refused.stderr,
    /not one of the allowed signers in .*allowed_signers/,
  );
  assert.equal((await readLines(log)).length, 2);
  const reset = await cli([
    "--repo",
    fixture.clone,
    "verify-reset",
    "--reason",
    "key rotation",
  ]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(
    reset.stdout,
    /verification is now on with allowed_signers .*mallorys/,
  );
  const events = () =>
    receiver.requests.map((request) => JSON.parse(request.body));
  const notice = events().find((event) => event.event === "verification_reset");
  assert.ok(notice, "verification_reset is notified");
  assert.match(notice.reason, /key rotation/);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await fixture.cloneHead(), mallorysCommit);
});

Deno.test("sync: reset to a commit that does not descend from the deployed one is notified as rewound", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const first = await fixture.push({
    ".upstream-watch.yaml": `sync: reset\nnotify:\n  - ${receiver.url}/hook\n`,
    "api/.update-hooks.yaml": appendingHooks(log),
  });
  const second = await fixture.push({ "api/x": "1" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await fixture.forcePushTo(first);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await fixture.cloneHead(), first);
  await receiver.waitFor(3);
  const rewound = receiver.requests.map((request) => JSON.parse(request.body))
    .find((event) => event.event === "rewound");
  assert.ok(rewound, "a rewound event is sent");
  assert.equal(rewound.fromCommit, second);
  assert.equal(rewound.toCommit, first);
  const status = await cli(["--repo", fixture.clone, "status", "--json"]);
  const document = JSON.parse(status.stdout);
  assert.equal(document.lastRewind.from, second);
  assert.equal(document.lastRewind.to, first);
});
