import assert from "node:assert/strict";
import { join } from "node:path";
import { runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  stateFileOf,
  stateSnapshot,
} from "./helpers/state_db.ts";

Deno.test("a hook that hangs is killed at its timeout, recorded failed, and the agent keeps working", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "hang/.update-hooks.yaml": hookFile({
      timeout: 0.5,
      update_commands: ["sleep 30"],
      on_failure_commands: [
        appendLine(log, "rollback $UPSTREAM_WATCH_FAILED_STEP"),
      ],
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual((await readLines(log)).sort(), ["rollback update", "web"]);
  const [run] = runRows(state, "hang");
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "update");
  assert.match(String(run.error), /timed out after 0\.5 s: sleep 30/);
  const [command] = queryState(
    state,
    "SELECT timed_out, exit_code FROM run_commands WHERE run_id = ? AND step = 'update'",
    run.id,
  );
  assert.equal(command.timed_out, 1);

  await fixture.push({ "web/index.html": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual((await readLines(log)).slice(2), ["web"]);
});

Deno.test("a corrupt state file is a clear error naming it: exit 2, nothing run, the file untouched", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const garbage = new Uint8Array(8192);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 256;
  const file = stateFileOf(fixture.clone);
  await Deno.writeFile(file, garbage);

  for (const command of [["run", "--once"], ["status"], ["deploy", "api"]]) {
    const result = await spawnCli(["--repo", fixture.clone, ...command]);
    assert.equal(result.code, 2, `${command.join(" ")}: ${result.stderr}`);
    assert.match(
      result.stderr,
      new RegExp(`state file ${file.replaceAll("/", "\\/")}`),
    );
  }
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(await Deno.readFile(file), garbage);
});

Deno.test("a state file that cannot be created is a clear error naming it: exit 2, nothing run", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  // Works as root too: the state file's folder is a regular file.
  await fixture.push({
    ".upstream-watch.yaml": hookFile({
      state_file: "not-a-folder/state.sqlite",
    }),
    "not-a-folder": "a file\n",
    "api/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /not-a-folder\/state\.sqlite/);
  assert.deepEqual(await readLines(log), []);
});

Deno.test({
  name:
    "an unwritable state folder is a clear error naming the file: exit 2, nothing run",
  // Root writes through any permission bits, so the scenario cannot be built as root.
  ignore: Deno.uid() === 0,
  async fn() {
    await using fixture = await GitFixture.create({});
    const log = join(fixture.root, "ran.log");
    await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
    await git(fixture.clone, "pull", "--quiet");
    await Deno.chmod(fixture.clone, 0o555);
    try {
      const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /\.upstream-watch\.sqlite/);
      assert.deepEqual(await readLines(log), []);
    } finally {
      await Deno.chmod(fixture.clone, 0o755);
    }
  },
});

Deno.test({
  name:
    "an existing state file the agent cannot write is a clear error: exit 2, nothing run, the work tree not moved",
  ignore: Deno.uid() === 0,
  async fn() {
    await using fixture = await GitFixture.create({});
    const log = join(fixture.root, "ran.log");
    await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
    assert.equal((await runOnce(fixture.clone)).code, 0);
    const deployed = await fixture.cloneHead();
    await fixture.push({ "api/compose.yaml": "v2\n" });
    const file = stateFileOf(fixture.clone);
    const files = [file, `${file}-wal`, `${file}-shm`];
    for (const path of files) await Deno.chmod(path, 0o444).catch(() => {});
    try {
      const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /\.upstream-watch\.sqlite/);
      assert.deepEqual(await readLines(log), ["api"]);
      assert.equal(await fixture.cloneHead(), deployed);
    } finally {
      for (const path of files) await Deno.chmod(path, 0o644).catch(() => {});
    }
  },
});

Deno.test("a diverged upstream under ff-only exits 3 and runs nothing; under reset it deploys", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await git(fixture.clone, "commit", "--quiet", "--allow-empty", "-m", "local");
  const localHead = await fixture.cloneHead();
  const upstreamHead = await fixture.push({ "api/compose.yaml": "v2\n" });
  const before = stateSnapshot(state);

  const refused = await runOnce(fixture.clone);

  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /has diverged from origin\/main/);
  assert.equal(await fixture.cloneHead(), localHead);
  assert.deepEqual(await readLines(log), ["api"]);
  assert.equal(stateSnapshot(state), before, "nothing written");

  // The operator switches to reset with a local --config (the repository's
  // own configuration is read from git, so an edit in the clone is ignored).
  const local = join(fixture.root, "local.yaml");
  await Deno.writeTextFile(local, hookFile({ sync: "reset" }));
  const reset = await runOnce(fixture.clone, ["--config", local]);

  assert.equal(reset.code, 0, reset.stderr);
  assert.equal(await fixture.cloneHead(), upstreamHead);
  assert.deepEqual(await readLines(log), ["api", "api"]);
});

Deno.test("uncommitted changes to tracked files under ff-only exit 3 and run nothing", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "api/compose.yaml": "v1\n",
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await Deno.writeTextFile(
    join(fixture.clone, "api/compose.yaml"),
    "hand-edited\n",
  );
  await fixture.push({ "api/compose.yaml": "v2\n" });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 3);
  assert.match(
    result.stderr,
    /uncommitted changes to tracked files \(api\/compose\.yaml\)/,
  );
  assert.deepEqual(await readLines(log), ["api"]);
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api/compose.yaml")),
    "hand-edited\n",
  );
});

Deno.test("a stale .git/index.lock left by a killed git is removed with a warning; untracked files survive", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const head = await fixture.push({ "api/compose.yaml": "v2\n" });
  const indexLock = join(fixture.clone, ".git", "index.lock");
  await Deno.writeTextFile(indexLock, "");
  const anHourAgo = new Date(Date.now() - 3600_000);
  await Deno.utime(indexLock, anHourAgo, anHourAgo);
  const secrets = join(fixture.clone, ".env");
  await Deno.writeTextFile(secrets, "PASSWORD=hunter2\n");
  const untrackedInService = join(fixture.clone, "api", "data.db");
  await Deno.writeTextFile(untrackedInService, "runtime data\n");

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /WRN .*removing stale .*index\.lock/);
  assert.equal(await pathExists(indexLock), false);
  assert.equal(await fixture.cloneHead(), head);
  assert.deepEqual(await readLines(log), ["api", "api"]);
  assert.equal(await Deno.readTextFile(secrets), "PASSWORD=hunter2\n");
  assert.equal(await Deno.readTextFile(untrackedInService), "runtime data\n");
});

Deno.test("a dependency cycle fails only the services on it and never hangs the cycle", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ parallel: 4 }),
  });
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "a/.update-hooks.yaml": appendingHooks(log, { depends_on: ["c"] }),
    "b/.update-hooks.yaml": appendingHooks(log, { depends_on: ["a"] }),
    "c/.update-hooks.yaml": appendingHooks(log, { depends_on: ["b"] }),
    // d depends on a service of the cycle: its dependency fails, so it is skipped.
    "d/.update-hooks.yaml": appendingHooks(log, { depends_on: ["a"] }),
    "e/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["e"]);
  const outcomes = Object.fromEntries(
    runRows(state).map((run) => [run.service, run.outcome]),
  );
  assert.equal(outcomes.a, "failed");
  assert.equal(outcomes.b, "failed");
  assert.equal(outcomes.c, "failed");
  assert.equal(outcomes.e, "succeeded");
  assert.equal(outcomes.d, "skipped");
  assert.match(
    String(runRows(state, "a")[0].error),
    /dependency cycle: a → c → b → a/,
  );
});
