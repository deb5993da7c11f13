import assert from "node:assert/strict";
import { join } from "node:path";
import { openApp } from "../src/app.ts";
import { createHandler } from "../src/http/handler.ts";
import { AgentTelemetry } from "../src/http/telemetry.ts";
import { runObservedCycle } from "../src/reconcile/daemon.ts";
import {
  cli,
  isolateGitConfig,
  parseJson,
  runOnce,
  spawnCli,
} from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import {
  allowedSigners,
  gpgKey,
  pushSignedWithGpg,
  signPushesWithSsh,
  sshKey,
} from "./helpers/signing.ts";
import { signedFixture } from "./helpers/signed_fixture.ts";

Deno.test("a commit signed by an allowed SSH key is deployed", async () => {
  const { fixture, log } = await signedFixture("");
  await using _ = fixture;
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 0, result.stderr);
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("an unsigned commit is refused: exit 3, no move, nothing runs, status and plan name it", async () => {
  const { fixture, log } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const before = await fixture.cloneHead();
  await signPushesWithSsh(fixture, null);
  const unsigned = await fixture.push({ "api/x": "1" }, "unsigned change");

  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 3);
  assert.match(
    result.stderr,
    new RegExp(`${unsigned.slice(0, 12)} \\(unsigned\\)`),
  );
  assert.match(result.stderr, /not signed/);
  assert.equal(await fixture.cloneHead(), before, "the work tree stays");
  assert.equal((await readLines(log)).length, 1, "nothing ran");

  const status = parseJson<{ verification: Record<string, unknown> }>(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  assert.equal(status.verification.commit, unsigned);
  assert.equal(status.verification.signer, null);
  assert.match(String(status.verification.reason), /not signed/);
  const plan = await cli(["--repo", fixture.clone, "plan", "--no-fetch"]);
  assert.match(plan.stdout, /unsigned\) refused by signature verification/);
  const planJson = parseJson<{ verification: Record<string, unknown> }>(
    await cli(["--repo", fixture.clone, "plan", "--json", "--no-fetch"]),
  );
  assert.equal(planJson.verification.commit, unsigned);

  // A signed commit on top is enough under mode head.
  await signPushesWithSsh(fixture, join(fixture.root, "alice"));
  await fixture.push({ "api/x": "2" }, "signed fix");
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2);
  const after = parseJson<{ verification: unknown }>(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  assert.equal(after.verification, null);
});

Deno.test("a commit signed by a key that is not allowed is refused naming its key", async () => {
  const { fixture, log, other } = await signedFixture("");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await signPushesWithSsh(fixture, other);
  await fixture.push({ "api/x": "1" }, "signed by mallory");
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 3);
  assert.match(result.stderr, /signed by SHA256:/);
  assert.match(result.stderr, /not one of the allowed signers/);
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("mode all refuses an unsigned commit in the middle of the fetched range; mode head would take it", async () => {
  const { fixture, log, key } = await signedFixture("  mode: all\n");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await signPushesWithSsh(fixture, null);
  const unsigned = await fixture.push({ "api/x": "1" }, "unsigned");
  await signPushesWithSsh(fixture, key);
  await fixture.push({ "api/x": "2" }, "signed on top");
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 3);
  assert.match(result.stderr, new RegExp(unsigned.slice(0, 12)));
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("mode all verifies merges too, and does not verify again once recorded", async () => {
  const { fixture, log, key } = await signedFixture("  mode: all\n");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await git(fixture.pusher, "checkout", "--quiet", "-b", "side");
  await fixture.push({ "api/side": "1" }, "side");
  await git(fixture.pusher, "checkout", "--quiet", "main");
  await git(fixture.pusher, "commit", "--quiet", "--allow-empty", "-m", "main");
  await git(
    fixture.pusher,
    "merge",
    "--quiet",
    "--no-ff",
    "-m",
    "merge",
    "side",
  );
  await git(fixture.pusher, "push", "--quiet", "origin", "HEAD:main");
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  const result = await app.agent.runCycle({ trigger: "poll" });
  assert.equal(result.failed, false);
  assert.equal((await readLines(log)).length, 2);
  const before = app.git.spawned;
  await app.agent.runCycle({ trigger: "poll" });
  // fetch, rev-parse, diff: nothing for verification once the target is recorded.
  assert.ok(
    app.git.spawned - before <= 3,
    `idle cycle took ${app.git.spawned - before} git processes`,
  );
  void key;
});

Deno.test("an unsigned merge is refused under mode all", async () => {
  const { fixture, log } = await signedFixture("  mode: all\n");
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await git(fixture.pusher, "checkout", "--quiet", "-b", "side");
  await fixture.push({ "api/side": "1" }, "side");
  await git(fixture.pusher, "checkout", "--quiet", "main");
  await git(
    fixture.pusher,
    "-c",
    "commit.gpgsign=false",
    "merge",
    "--quiet",
    "--no-ff",
    "-m",
    "unsigned merge",
    "side",
  );
  await git(fixture.pusher, "push", "--quiet", "origin", "HEAD:main");
  const merge = await fixture.pusherHead();
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 3);
  assert.match(result.stderr, new RegExp(merge.slice(0, 12)));
  assert.equal((await readLines(log)).length, 1);
});

Deno.test("a key file inside the work tree is a configuration error", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "verify:\n  allowed_signers: PLACEHOLDER\n",
  });
  const inside = join(fixture.clone, "keys", "allowed_signers");
  await fixture.push({
    ".upstream-watch.yaml": `verify:\n  allowed_signers: ${inside}\n`,
  });
  await git(fixture.clone, "pull", "--quiet");
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /verify\.allowed_signers.*inside the work tree/);
  const relative = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(relative.code, 2);
});

Deno.test("a relative key path is a configuration error naming file and line", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "verify:\n  allowed_signers: keys/allowed\n",
  });
  const result = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /\.upstream-watch\.yaml:2:.*absolute path/);
});

Deno.test("--allowed-signers turns verification on whatever the repository says; dropping it later keeps it on until verify-reset", async () => {
  await using fixture = await GitFixture.create({});
  const key = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed"), [
    { principal: "alice@example.test", key },
  ]);
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const refused = await runOnce(fixture.clone, ["--allowed-signers", signers]);
  assert.equal(
    refused.code,
    3,
    "the unsigned first commit must verify on a first start",
  );
  assert.equal((await readLines(log)).length, 0);
  // In a process of its own: the variable must not reach tests running beside.
  const fromVariable = await spawnCli(
    ["--repo", fixture.clone, "run", "--once"],
    { env: { UPSTREAM_WATCH_ALLOWED_SIGNERS: signers } },
  );
  assert.equal(fromVariable.code, 3, fromVariable.stderr);
  const without = await runOnce(fixture.clone);
  assert.equal(without.code, 3, "still on without the option: it was recorded");
  assert.match(without.stderr, /unsigned\) refused/);
  const reset = await cli([
    "--repo",
    fixture.clone,
    "verify-reset",
    "--reason",
    "verification moves to CI",
  ]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(
    reset.stdout,
    /forgot the recorded allowed_signers .*allowed \(mode head\); verification is now off/,
  );
  assert.equal((await runOnce(fixture.clone)).code, 0, "off after the reset");
  assert.equal((await readLines(log)).length, 1);
  const again = await cli(["--repo", fixture.clone, "verify-reset"]);
  assert.match(again.stdout, /nothing to reset/);
});

Deno.test("validate checks that the allowed-signers file exists and parses", async () => {
  await using fixture = await GitFixture.create({});
  const missing = join(fixture.root, "nope");
  const result = await cli([
    "--repo",
    fixture.clone,
    "--allowed-signers",
    missing,
    "validate",
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /nope.*file not found/);
  const bad = join(fixture.root, "bad");
  await Deno.writeTextFile(
    bad,
    "# comment\nalice@example.test ssh-ed25519 notbase64\n",
  );
  const parsed = await cli([
    "--repo",
    fixture.clone,
    "--allowed-signers",
    bad,
    "validate",
  ]);
  assert.equal(parsed.code, 2);
  assert.match(parsed.stderr, /bad:2: not an allowed-signers line/);
  const key = await sshKey(fixture.root, "alice");
  const good = await allowedSigners(join(fixture.root, "good"), [{
    principal: "a@b",
    key,
  }]);
  const ok = await cli([
    "--repo",
    fixture.clone,
    "--allowed-signers",
    good,
    "validate",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
});

Deno.test("an OpenPGP keyring verifies gpg-signed commits and refuses others", async () => {
  await using fixture = await GitFixture.create({});
  await using signer = await gpgKey(fixture.root, "Bob <bob@example.test>");
  const log = join(fixture.root, "ran.log");
  const gpgCommit = (message: string) =>
    pushSignedWithGpg(fixture, {
      home: signer.home,
      signingKey: "bob@example.test",
    }, message);
  await Deno.mkdir(join(fixture.pusher, "api"));
  await Deno.writeTextFile(
    join(fixture.pusher, "api/.update-hooks.yaml"),
    appendingHooks(log),
  );
  await Deno.writeTextFile(
    join(fixture.pusher, ".upstream-watch.yaml"),
    `verify:\n  gpg_keyring: ${signer.keyring}\n`,
  );
  await git(fixture.pusher, "add", "--all");
  await gpgCommit("gpg signed");
  await git(fixture.clone, "pull", "--quiet");
  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 1);
  await fixture.push({ "api/x": "1" }, "unsigned");
  const refused = await runOnce(fixture.clone);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /unsigned\) refused/);
});

Deno.test("verification_failed is notified once per refused commit, across restarts", async () => {
  await using receiver = Receiver.start();
  const { fixture, key } = await signedFixture(
    "",
    `notify:\n  - ${receiver.url}/hook\n`,
  );
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await receiver.waitFor(1);
  const baseline = receiver.requests.length;
  await signPushesWithSsh(fixture, null);
  await fixture.push({ "api/x": "1" }, "unsigned one");
  assert.equal((await runOnce(fixture.clone)).code, 3);
  assert.equal((await runOnce(fixture.clone)).code, 3);
  await fixture.push({ "api/x": "2" }, "unsigned two");
  assert.equal((await runOnce(fixture.clone)).code, 3);
  const events = receiver.requests.slice(baseline).map((request) =>
    JSON.parse(request.body).event
  );
  assert.deepEqual(events, ["verification_failed", "verification_failed"]);
  void key;
});

Deno.test("/healthz answers 503 with the refused commit as soon as verification fails, 200 again once a signed commit deploys", async () => {
  const { fixture } = await signedFixture("");
  await using _ = fixture;
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  const telemetry = new AgentTelemetry({
    store: app.store,
    now: Date.now,
    intervalSeconds: () => 60,
  });
  const handler = createHandler({
    requestCycle: () => "started",
    statusDocument: () => Promise.reject(new Error("unused")),
    store: app.store,
    commitSubject: () => Promise.resolve(""),
    telemetry,
    logger: app.logger,
    version: "test",
    now: Date.now,
  });
  const observe = {
    kill: new AbortController().signal,
    logger: app.logger,
    observers: [telemetry],
  };
  await runObservedCycle(app.agent, { trigger: "poll", ...observe });
  assert.equal((await handler(new Request("http://x/healthz"))).status, 200);
  await signPushesWithSsh(fixture, null);
  const unsigned = await fixture.push({ "api/x": "1" }, "unsigned");
  const report = await runObservedCycle(app.agent, {
    trigger: "poll",
    ...observe,
  });
  assert.equal(report.kind, "sync_failed");
  const response = await handler(new Request("http://x/healthz"));
  assert.equal(response.status, 503);
  assert.match(
    await response.text(),
    new RegExp(`${unsigned.slice(0, 12)} \\(unsigned\\) refused`),
  );
});
