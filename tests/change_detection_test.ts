import assert from "node:assert/strict";
import { join } from "node:path";
import { runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

/** A fixture whose services each append their name to `ran.log` when updated. */
async function servicesFixture(
  names: readonly string[],
  extra: Record<string, string> = {},
): Promise<{ fixture: GitFixture; log: string }> {
  const fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ...Object.fromEntries(
      names.map((name) => [`${name}/.update-hooks.yaml`, appendingHooks(log)]),
    ),
    ...extra,
  }, "add services");
  return { fixture, log };
}

/** Lines appended since `before` lines were there, sorted. */
async function newLines(log: string, before: number): Promise<string[]> {
  return (await readLines(log)).slice(before).sort();
}

Deno.test("the first start deploys every service at HEAD", async () => {
  const { fixture, log } = await servicesFixture(["api", "db", "web"]);
  await using _ = fixture;

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await newLines(log, 0), ["api", "db", "web"]);
  const head = await fixture.cloneHead();
  assert.equal(head, await fixture.pusherHead());
  const state = stateFileOf(fixture.clone);
  for (const row of runRows(state)) {
    assert.equal(row.outcome, "succeeded");
    assert.equal(row.from_commit, null);
    assert.equal(row.to_commit, head);
    assert.equal(JSON.parse(String(row.reason)).kind, "first_deploy");
  }
  for (const name of ["api", "db", "web"]) {
    assert.equal(serviceRow(state, name)?.deployed_commit, head, name);
  }
});

Deno.test("two commits pushed between polls update both services they touched", async () => {
  const { fixture, log } = await servicesFixture(["a", "b", "c"]);
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const deployed = await fixture.cloneHead();
  const state = stateFileOf(fixture.clone);

  const touchA = await fixture.push({ "a/compose.yaml": "v2\n" }, "bump a");
  await fixture.push({ "b/compose.yaml": "v2\n" }, "bump b");
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await newLines(log, 3), ["a", "b"]);
  const head = await fixture.cloneHead();
  assert.equal(serviceRow(state, "a")?.deployed_commit, head);
  assert.equal(serviceRow(state, "b")?.deployed_commit, head);
  assert.equal(serviceRow(state, "c")?.deployed_commit, deployed);

  // The run records why it happened: the paths and the commit that touched a.
  const runA = runRows(state).findLast((row) => row.service === "a")!;
  assert.equal(runA.from_commit, deployed);
  assert.equal(runA.to_commit, head);
  const reason = JSON.parse(String(runA.reason));
  assert.equal(reason.kind, "changed");
  assert.deepEqual(reason.paths, ["a/compose.yaml"]);
  assert.deepEqual(reason.commits, [{ commit: touchA, subject: "bump a" }]);

  await fixture.push({ "c/compose.yaml": "v2\n" }, "bump c");
  const third = await runOnce(fixture.clone);

  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(await newLines(log, 5), ["c"]);
  assert.equal(serviceRow(state, "a")?.deployed_commit, head);
  assert.equal(
    serviceRow(state, "c")?.deployed_commit,
    await fixture.cloneHead(),
  );
});

Deno.test("a change in api-gateway/ does not make api due", async () => {
  const { fixture, log } = await servicesFixture(["api", "api-gateway"]);
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);

  await fixture.push({ "api-gateway/compose.yaml": "v2\n" });
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await newLines(log, 2), ["api-gateway"]);
});

Deno.test("a file moved from one service folder to another makes both due", async () => {
  const { fixture, log } = await servicesFixture(["a", "b", "c"], {
    "a/shared.env": "KEY=value\n",
  });
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);

  await fixture.push({ "a/shared.env": null, "b/shared.env": "KEY=value\n" });
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await newLines(log, 3), ["a", "b"]);
});

Deno.test("a change to a service's watch_paths makes it due", async () => {
  await using fixture = await GitFixture.create({
    "shared/config.yml": "v1\n",
    "shared/other.yml": "v1\n",
    "lib/util/strings.sh": "v1\n",
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "api")],
      watch_paths: ["shared/config.yml", "./lib/"],
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);

  await fixture.push({ "shared/other.yml": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await newLines(log, 2), [], "an unwatched file");

  await fixture.push({ "shared/config.yml": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await newLines(log, 2), ["api"], "a watched file");

  await fixture.push({ "lib/util/strings.sh": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(
    await newLines(log, 3),
    ["api"],
    "a file in a watched folder",
  );
});

Deno.test("a deployed commit removed by a force-push makes its services due as history rewritten, with a warning", async () => {
  const { fixture, log } = await servicesFixture(["a", "b"], {
    ".upstream-watch.yaml": "sync: reset\n",
  });
  await using _ = fixture;
  const rewritten = await fixture.push({ "a/compose.yaml": "v2\n" }, "bump a");
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const state = stateFileOf(fixture.clone);
  assert.equal(serviceRow(state, "a")?.deployed_commit, rewritten);

  // The operator rewrites the branch: the deployed commit is replaced by another.
  await git(fixture.pusher, "reset", "--quiet", "--hard", "HEAD~1");
  const replacement = await fixture.push(
    { "a/compose.yaml": "v3\n" },
    "bump a, rewritten",
  );
  // The agent's clone follows and then forgets the old commit entirely.
  await git(fixture.clone, "fetch", "--quiet", "origin");
  await git(fixture.clone, "reset", "--quiet", "--hard", "origin/main");
  await git(fixture.clone, "reflog", "expire", "--expire=now", "--all");
  await git(fixture.clone, "gc", "--quiet", "--prune=now");
  await assert.rejects(
    git(fixture.clone, "cat-file", "-e", `${rewritten}^{commit}`),
  );

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /WRN .*no longer exists/);
  assert.ok(result.stderr.includes(rewritten.slice(0, 12)), result.stderr);
  assert.deepEqual(await newLines(log, 2), ["a", "b"]);
  for (const name of ["a", "b"]) {
    const run = runRows(state).findLast((row) => row.service === name)!;
    assert.equal(run.outcome, "succeeded");
    assert.deepEqual(JSON.parse(String(run.reason)).kind, "history_rewritten");
    assert.equal(run.from_commit, rewritten);
    assert.equal(serviceRow(state, name)?.deployed_commit, replacement);
  }
});

Deno.test("service folders with spaces and non-ASCII names are detected and updated", async () => {
  const { fixture, log } = await servicesFixture([
    "my service",
    "café",
    "plain",
  ]);
  await using _ = fixture;
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await newLines(log, 0), ["café", "my service", "plain"]);

  await fixture.push({ "café/menu.txt": "v2\n", "my service/a file": "v2\n" });
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await newLines(log, 3), ["café", "my service"]);
});
