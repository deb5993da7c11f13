import assert from "node:assert/strict";
import { join } from "node:path";
import { git } from "../../tests/helpers/git_fixture.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import { GitClient } from "./git_client.ts";

async function commit(
  dir: string,
  files: Record<string, string | null>,
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    if (content === null) {
      await Deno.remove(file, { recursive: true });
      continue;
    }
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeTextFile(file, content);
  }
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "--allow-empty", "-m", "change");
  return await git(dir, "rev-parse", "HEAD");
}

const HOOKS = ".update-hooks.yaml";

Deno.test("one diff answers the changed paths and the changed hook files of a pair of commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uw-git-changes-" });
  try {
    await git(dir, "init", "-q", "-b", "main");
    const first = await commit(dir, {
      ".upstream-watch.yaml": "interval: 60\n",
      [`api/${HOOKS}`]: "update_commands: [a]\n",
      "api/compose.yaml": "a\n",
      [`old/${HOOKS}`]: "update_commands: [o]\n",
      [`deep/nested/${HOOKS}`]: "update_commands: [n]\n",
    });
    const second = await commit(dir, {
      "api/compose.yaml": "b\n",
      [`web/${HOOKS}`]: "update_commands: [w]\n",
      [`old/${HOOKS}`]: null,
      [`deep/nested/${HOOKS}`]: "update_commands: [m]\n",
    });
    const same = await commit(dir, {});
    const client = new GitClient(new DenoProcessRunner(), { cwd: dir });

    const spawned = client.spawned;
    const [paths, hookFiles, again] = await Promise.all([
      client.changedPathsFrom([first, same], second),
      client.changedFolderFiles(first, second, HOOKS),
      client.changedPathsFrom([first], second),
    ]);
    assert.equal(client.spawned - spawned, 1, "one git process for all three");
    assert.deepEqual(
      paths.get(first)!.sort(),
      [
        "api/compose.yaml",
        `deep/nested/${HOOKS}`,
        `old/${HOOKS}`,
        `web/${HOOKS}`,
      ],
    );
    assert.deepEqual(paths.get(same), []);
    assert.deepEqual(
      (await client.changedPathsFrom([second], second)).get(second),
      [],
    );
    assert.deepEqual(again.get(first), paths.get(first));
    // Only top-level folders' hook files; a deleted one is null.
    assert.deepEqual(
      Object.fromEntries(hookFiles!),
      { [`old/${HOOKS}`]: null, [`web/${HOOKS}`]: "100644" },
    );

    // A hook file that became a folder needs a whole listing.
    const third = await commit(dir, {
      [`web/${HOOKS}`]: null,
      [`web/${HOOKS}/inner`]: "x\n",
    });
    assert.equal(
      await client.changedFolderFiles(second, third, HOOKS),
      undefined,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a diff from a commit that does not exist fails, and is asked again next time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uw-git-changes-" });
  try {
    await git(dir, "init", "-q", "-b", "main");
    const first = await commit(dir, { "a/file": "1\n" });
    const second = await commit(dir, { "a/file": "2\n" });
    const client = new GitClient(new DenoProcessRunner(), { cwd: dir });
    const missing = "0".repeat(40);
    await assert.rejects(client.changedPathsFrom([missing, first], second));
    const spawned = client.spawned;
    const paths = await client.changedPathsFrom([first], second);
    assert.deepEqual(paths.get(first), ["a/file"]);
    assert.equal(client.spawned - spawned, 1, "the failed answer was not kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("when the target moves, a known diff is composed through the previous target, equal to git's own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uw-git-changes-" });
  try {
    await git(dir, "init", "-q", "-b", "main");
    const a = await commit(dir, {
      "api/compose.yaml": "1\n",
      "api/.update-hooks.yaml": "x\n",
      "web/w": "1\n",
      "gone/g": "1\n",
      "a.b": "dot\n",
      "reverted": "1\n",
      "ünïcode/é": "1\n",
    });
    const b = await commit(dir, {
      "api/compose.yaml": "2\n",
      "web/w": null,
      "web/w/inside": "now a folder\n",
      "gone/g": null,
      "reverted": "2\n",
      "new/n": "1\n",
    });
    await Deno.remove(join(dir, "a.b"));
    await Deno.symlink("api", join(dir, "a.b"));
    const c = await commit(dir, {
      "api/compose.yaml": "1\n",
      "reverted": "1\n",
      "gone/g": "back\n",
      "ünïcode/é": "2\n",
      "z/last": "1\n",
    });
    const client = new GitClient(new DenoProcessRunner(), { cwd: dir });
    await client.changesFrom([a, b], b);
    const spawned = client.spawned;
    const composed = (await client.changesFrom([a], c)).get(a);
    assert.equal(client.spawned - spawned, 1, "only b → c was asked");

    const direct = new GitClient(new DenoProcessRunner(), { cwd: dir });
    assert.deepEqual(composed, (await direct.changesFrom([a], c)).get(a));
    assert.ok(!composed!.some((change) => change.path === "reverted"));
    assert.ok(!composed!.some((change) => change.path === "api/compose.yaml"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
