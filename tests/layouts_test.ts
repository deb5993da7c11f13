import assert from "node:assert/strict";
import { join } from "node:path";
import { cli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

Deno.test("multi-service mode runs only top-level folders that hold a hook file and are not ignored", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": "ignore_folders: [ignored]\n",
    "README.md": "infrastructure\n",
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "ignored/.update-hooks.yaml": appendingHooks(log),
    "docs/README.md": "a folder without a hook file is no service\n",
    "nested/deeper/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readLines(log)).sort(), ["api", "web"]);
  const state = stateFileOf(fixture.clone);
  assert.deepEqual(runRows(state).map((row) => row.service).sort(), [
    "api",
    "web",
  ]);
  for (const skipped of ["ignored", "docs", "nested"]) {
    assert.equal(serviceRow(state, skipped), undefined, skipped);
  }
});

Deno.test("in multi-service mode a change outside every service folder makes no service due", async () => {
  await using fixture = await GitFixture.create({ "README.md": "v1\n" });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  assert.equal((await readLines(log)).length, 2);

  await fixture.push({
    "README.md": "v2\n",
    "docs/guide.md": "a folder that is no service\n",
    ".upstream-watch.yaml": "retry_interval: 30\n",
  });
  const result = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.equal((await readLines(log)).length, 2);
  assert.equal(runRows(stateFileOf(fixture.clone)).length, 2);
  assert.equal(
    await fixture.cloneHead(),
    await fixture.pusherHead(),
    "the work tree still follows the upstream",
  );
});

Deno.test("single-directory mode treats the repository root as the one service named '.'", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": "single_directory_mode: true\n",
    ".update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(log, "$UPSTREAM_WATCH_SERVICE $(pwd -P)"),
      ],
    }),
    "compose.yaml": "services: {}\n",
    // A hook file in a subfolder is no service of its own in this mode.
    "sub/.update-hooks.yaml": appendingHooks(join(fixture.root, "sub.log")),
  });

  const first = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(first.code, 0, first.stderr);
  const root = await Deno.realPath(fixture.clone);
  assert.deepEqual(await readLines(log), [`. ${root}`]);
  assert.deepEqual(await readLines(join(fixture.root, "sub.log")), []);
  const state = stateFileOf(fixture.clone);
  assert.equal(
    serviceRow(state, ".")?.deployed_commit,
    await fixture.cloneHead(),
  );
});

Deno.test("in single-directory mode any change anywhere makes the root service due, and nothing else does", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": "single_directory_mode: true\n",
    ".update-hooks.yaml": appendingHooks(log),
  });
  const once = () => cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal((await once()).code, 0);
  assert.equal((await readLines(log)).length, 1);

  // Nothing changed: the state file the agent writes in the root does not count.
  assert.equal((await once()).code, 0);
  assert.equal((await readLines(log)).length, 1);

  await fixture.push({ "deep/nested/file.txt": "anything\n" });
  const result = await once();

  assert.equal(result.code, 0, result.stderr);
  assert.equal((await readLines(log)).length, 2);
  const [, second] = runRows(stateFileOf(fixture.clone));
  const reason = JSON.parse(String(second.reason));
  assert.equal(reason.kind, "changed");
  assert.deepEqual(reason.paths, ["deep/nested/file.txt"]);
});
