import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, runOnce } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, pathExists, readLines } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** A fixture whose services `api` and `web` append their name to `ran.log`; `repoConfig` becomes `.upstream-watch.yaml`. */
async function deployedFixture(
  repoConfig = "",
): Promise<{ fixture: GitFixture; log: string }> {
  const fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": repoConfig,
    "api/.update-hooks.yaml": appendingHooks(log),
    "api/compose.yaml": "image: api:1\n",
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 0, result.stderr);
  assert.equal((await readLines(log)).length, 2);
  return { fixture, log };
}

/**
 * A hand edit to `api/compose.yaml`, then `push`: the cycle is refused with
 * exit 3 naming the file, no hook runs, HEAD and the edit stay as they were.
 */
async function refusesHandEdit(push: Record<string, string>): Promise<void> {
  const { fixture, log } = await deployedFixture();
  await using _ = fixture;
  const before = await fixture.cloneHead();
  await Deno.writeTextFile(
    join(fixture.clone, "api/compose.yaml"),
    "image: api:hotfix\n",
  );
  await fixture.push(push);

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 3);
  assert.match(
    result.stderr,
    /uncommitted changes to tracked files \(api\/compose\.yaml\)/,
  );
  assert.equal((await readLines(log)).length, 2, "no hook ran");
  assert.equal(await fixture.cloneHead(), before);
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api/compose.yaml")),
    "image: api:hotfix\n",
    "the local edit is left alone",
  );
  assert.equal(runRows(stateFileOf(fixture.clone)).length, 2);
}

Deno.test("sync: ff-only refuses a work tree with modified tracked files and exits 3 without running hooks", async () => {
  await refusesHandEdit({ "web/compose.yaml": "v2\n" });
});

Deno.test("sync: ff-only refuses a local edit to a file the push also changes, leaving HEAD and the edit", async () => {
  await refusesHandEdit({ "api/compose.yaml": "image: api:2\n" });
});

Deno.test("sync: ff-only refuses a staged change; HEAD, the index and the work tree stay as they were", async () => {
  const { fixture, log } = await deployedFixture();
  await using _ = fixture;
  const before = await fixture.cloneHead();
  const compose = join(fixture.clone, "api/compose.yaml");
  await Deno.writeTextFile(compose, "image: api:staged\n");
  await git(fixture.clone, "add", "api/compose.yaml");
  await Deno.writeTextFile(compose, "image: api:edited\n");
  await fixture.push({ "web/compose.yaml": "v2\n" });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 3);
  assert.match(result.stderr, /uncommitted changes/);
  assert.equal((await readLines(log)).length, 2, "no hook ran");
  assert.equal(await fixture.cloneHead(), before);
  assert.equal(
    await git(fixture.clone, "show", ":api/compose.yaml"),
    "image: api:staged",
    "the staged content is still staged",
  );
  assert.equal(await Deno.readTextFile(compose), "image: api:edited\n");
  assert.equal(
    await git(fixture.clone, "status", "--porcelain", "--untracked-files=no"),
    "MM api/compose.yaml",
  );
  assert.equal(
    await pathExists(join(fixture.clone, "web/compose.yaml")),
    false,
    "the pushed file is not in the work tree",
  );

  // Once the change is committed away, the next cycle deploys.
  await git(fixture.clone, "checkout", "HEAD", "--", "api/compose.yaml");
  const again = await runOnce(fixture.clone);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await fixture.cloneHead(), await fixture.pusherHead());
});

Deno.test("sync: ff-only refuses a clone that has diverged from the upstream and exits 3", async () => {
  const { fixture, log } = await deployedFixture();
  await using _ = fixture;
  await git(fixture.pusher, "commit", "--quiet", "--amend", "-m", "rewritten");
  await git(
    fixture.pusher,
    "push",
    "--quiet",
    "--force",
    "origin",
    "HEAD:main",
  );

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 3);
  assert.match(result.stderr, /diverged/);
  assert.equal((await readLines(log)).length, 2, "no hook ran");
});

Deno.test("sync: reset discards local edits to tracked files, keeps untracked ones like .env and deploys", async () => {
  const { fixture, log } = await deployedFixture("sync: reset\n");
  await using _ = fixture;
  await Deno.writeTextFile(
    join(fixture.clone, "api/compose.yaml"),
    "image: api:hotfix\n",
  );
  await Deno.writeTextFile(join(fixture.clone, "api/.env"), "SECRET=s3cr3t\n");
  await fixture.push({ "api/compose.yaml": "image: api:2\n" });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(await fixture.cloneHead(), await fixture.pusherHead());
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api/compose.yaml")),
    "image: api:2\n",
  );
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api/.env")),
    "SECRET=s3cr3t\n",
  );
  assert.deepEqual((await readLines(log)).slice(2), ["api"]);
});

Deno.test("sync: reset follows a force-pushed upstream", async () => {
  const { fixture, log } = await deployedFixture("sync: reset\n");
  await using _ = fixture;
  await git(fixture.pusher, "commit", "--quiet", "--amend", "-m", "rewritten");
  await fixture.push({ "web/compose.yaml": "v2\n" });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(await fixture.cloneHead(), await fixture.pusherHead());
  assert.ok((await readLines(log)).slice(2).includes("web"));
});

Deno.test("an unreachable upstream exits 3, names the remote and runs no command", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const missing = join(fixture.root, "no-such-upstream.git");
  await git(fixture.clone, "remote", "set-url", "origin", missing);

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 3);
  assert.match(result.stderr, /origin/);
  assert.deepEqual(await readLines(log), []);
  if (await pathExists(stateFileOf(fixture.clone))) {
    assert.deepEqual(runRows(stateFileOf(fixture.clone)), []);
  }
});

Deno.test("the state file never shows up in git status of the clone", async () => {
  const { fixture } = await deployedFixture();
  await using _ = fixture;
  // Read-only commands open the database too (and may leave -wal/-shm files).
  assert.equal((await cli(["--repo", fixture.clone, "status"])).code, 0);
  assert.equal((await cli(["--repo", fixture.clone, "history"])).code, 0);
  await fixture.push({ "api/compose.yaml": "image: api:2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);

  assert.ok(await pathExists(stateFileOf(fixture.clone)));
  assert.equal(
    await git(
      fixture.clone,
      "status",
      "--porcelain",
      "--untracked-files=all",
      "--ignored=no",
    ),
    "",
  );
});

Deno.test("credentials in the remote URL never reach the error output", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({ "api/.update-hooks.yaml": "update_commands: [true]\n" });
  // A local server that hangs up on every connection: the fetch fails at once.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hangUp = (async () => {
    for await (const connection of listener) connection.close();
  })();
  const { port } = listener.addr;
  await git(
    fixture.clone,
    "remote",
    "set-url",
    "origin",
    `https://deploy:s3cr3t-t0ken@127.0.0.1:${port}/infra.git`,
  );

  const result = await runOnce(fixture.clone);
  listener.close();
  await hangUp.catch(() => {});

  assert.equal(result.code, 3);
  assert.match(result.stderr, /origin/);
  assert.doesNotMatch(result.stderr, /s3cr3t-t0ken/);
});

Deno.test("a stale index.lock left by a crash is removed and the update goes ahead, keeping untracked files", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const lock = join(fixture.clone, ".git", "index.lock");
  await Deno.writeTextFile(lock, "");
  // Left by a git killed a minute ago (a live git holds it for milliseconds).
  const aMinuteAgo = new Date(Date.now() - 60_000);
  await Deno.utime(lock, aMinuteAgo, aMinuteAgo);
  await Deno.writeTextFile(join(fixture.clone, ".env"), "SECRET=1\n");

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(await pathExists(lock), false);
  assert.deepEqual(await readLines(log), ["api"]);
  assert.equal(await fixture.cloneHead(), await fixture.pusherHead());
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, ".env")),
    "SECRET=1\n",
  );
});
