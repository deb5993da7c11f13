import assert from "node:assert/strict";
import { join } from "node:path";
import { GIT_ENV } from "../../tests/helpers/git_fixture.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import { GitClient } from "./git_client.ts";

async function git(cwd: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("git", {
    args,
    cwd,
    env: GIT_ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(new TextDecoder().decode(output.stderr));
  }
  return new TextDecoder().decode(output.stdout).trim();
}

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
