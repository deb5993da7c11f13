import assert from "node:assert/strict";
import { join } from "node:path";
import { git } from "../../tests/helpers/git_fixture.ts";
import { headCommitFromFiles, refCommitFromFiles } from "./head_file.ts";

async function repository(): Promise<{ dir: string; gitDir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "uw-head-file-" });
  await git(dir, "init", "-q", "-b", "main");
  await Deno.writeTextFile(join(dir, "a"), "a\n");
  await git(dir, "add", "a");
  await git(dir, "commit", "-q", "-m", "one");
  return { dir, gitDir: join(dir, ".git") };
}

Deno.test("refs read from files agree with git: loose, packed, detached, missing", async () => {
  const { dir, gitDir } = await repository();
  try {
    const head = await git(dir, "rev-parse", "HEAD");
    assert.equal(headCommitFromFiles(gitDir), head);
    await git(dir, "update-ref", "refs/remotes/origin/main", head);
    assert.equal(
      refCommitFromFiles(gitDir, "refs/remotes/origin/main"),
      head,
    );

    // Packed: the loose files are gone, packed-refs answers.
    await git(dir, "pack-refs", "--all");
    await assert.rejects(Deno.stat(join(gitDir, "refs/heads/main")));
    assert.equal(headCommitFromFiles(gitDir), head);
    assert.equal(
      refCommitFromFiles(gitDir, "refs/remotes/origin/main"),
      head,
    );

    // A loose ref written after packing wins over its packed line, as in git.
    await Deno.writeTextFile(join(dir, "a"), "b\n");
    await git(dir, "commit", "-q", "-am", "two");
    const second = await git(dir, "rev-parse", "HEAD");
    assert.notEqual(second, head);
    assert.equal(headCommitFromFiles(gitDir), second);

    assert.equal(
      refCommitFromFiles(gitDir, "refs/remotes/origin/other"),
      undefined,
    );
    await git(dir, "checkout", "-q", "--detach", head);
    assert.equal(headCommitFromFiles(gitDir), head);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a symbolic ref or a ref storage other than files is left to git", async () => {
  const { dir, gitDir } = await repository();
  try {
    await git(
      dir,
      "symbolic-ref",
      "refs/remotes/origin/HEAD",
      "refs/heads/main",
    );
    assert.equal(
      refCommitFromFiles(gitDir, "refs/remotes/origin/HEAD"),
      undefined,
    );
    // What a reftable repository looks like to a files reader.
    await Deno.remove(join(gitDir, "refs"), { recursive: true });
    await Deno.writeTextFile(
      join(gitDir, "HEAD"),
      "ref: refs/heads/.invalid\n",
    );
    await Deno.mkdir(join(gitDir, "refs"));
    await Deno.writeTextFile(join(gitDir, "refs", "heads"), "");
    await Deno.remove(join(gitDir, "packed-refs")).catch(() => {});
    assert.equal(headCommitFromFiles(gitDir), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
