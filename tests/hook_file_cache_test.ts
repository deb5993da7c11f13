import assert from "node:assert/strict";
import { cli, runOnce } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { queryState, stateFileOf } from "./helpers/state_db.ts";

const HOOKS = "update_commands: ['true']\n";

async function statusOf(clone: string) {
  const result = await cli(["--repo", clone, "status", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as {
    services: { name: string; due: boolean; configError: string | null }[];
  };
}

Deno.test("parsed hook files are saved by blob, and a changed hook file is parsed again", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": HOOKS,
    "web/.update-hooks.yaml": HOOKS,
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const state = stateFileOf(fixture.clone);
  const saved = () =>
    queryState(state, "SELECT key FROM hook_files ORDER BY key").map((row) =>
      String(row.key)
    );
  const webBlob = await git(
    fixture.clone,
    "rev-parse",
    "HEAD:web/.update-hooks.yaml",
  );
  assert.deepEqual(saved().length, 2);
  assert.ok(saved().includes(`${webBlob}:web`), saved().join(", "));

  // web now runs on another host only: status (read-only) must see the new file, not the saved one.
  await fixture.push({
    "web/.update-hooks.yaml": `${HOOKS}hosts: [elsewhere]\n`,
  });
  await git(fixture.clone, "pull", "--quiet", "--ff-only");
  assert.deepEqual(
    (await statusOf(fixture.clone)).services.map((s) => s.name),
    ["api"],
  );

  // A broken hook file's error is kept in the cache too, and shown the same way.
  await fixture.push({ "api/.update-hooks.yaml": "update_commands: [\n" });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  const fresh = (await statusOf(fixture.clone)).services.find((s) =>
    s.name === "api"
  )!;
  assert.match(fresh.configError ?? "", /api\/\.update-hooks\.yaml:\d+/);
  const newWebBlob = await git(
    fixture.clone,
    "rev-parse",
    "HEAD:web/.update-hooks.yaml",
  );
  assert.ok(saved().includes(`${newWebBlob}:web`));
  assert.ok(
    !saved().includes(`${webBlob}:web`),
    "entries of old blobs are dropped",
  );
});
