import assert from "node:assert/strict";
import { join } from "node:path";
import { GitClient } from "../git/git_client.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import { readSignedCommits, splitSignedCommit } from "./signed_commit.ts";

const SIGNED = [
  "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  "author A <a@example.test> 1700000000 +0000",
  "committer A <a@example.test> 1700000000 +0000",
  "gpgsig -----BEGIN SSH SIGNATURE-----",
  " U1NIU0lH",
  " -----END SSH SIGNATURE-----",
  "mergetag object 1234",
  " type commit",
  "",
  "message",
  "",
].join("\n");

Deno.test("the signature header is cut out of the payload, other headers and the message stay", () => {
  const split = splitSignedCommit("c", SIGNED);
  assert.equal(split.signature?.format, "ssh");
  assert.equal(
    split.signature?.armored,
    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
  );
  assert.equal(
    split.payload,
    [
      "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
      "author A <a@example.test> 1700000000 +0000",
      "committer A <a@example.test> 1700000000 +0000",
      "mergetag object 1234",
      " type commit",
      "",
      "message",
      "",
    ].join("\n"),
  );
});

Deno.test("an unsigned commit has no signature and its payload is the whole object", () => {
  const raw = "tree 1\nauthor A\ncommitter A\n\nmessage\n";
  assert.deepEqual(splitSignedCommit("c", raw), {
    commit: "c",
    payload: raw,
    signature: null,
  });
});

Deno.test("an OpenPGP signature is told apart from an SSH one", () => {
  const raw = SIGNED.replace(
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN PGP SIGNATURE-----",
  );
  assert.equal(splitSignedCommit("c", raw).signature?.format, "openpgp");
});

Deno.test("a commit that is not UTF-8 is marked unreadable, after the commits before it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "upstream-watch-test-" });
  try {
    const env = {
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "A",
      GIT_AUTHOR_EMAIL: "a@example.test",
      GIT_COMMITTER_NAME: "A",
      GIT_COMMITTER_EMAIL: "a@example.test",
    };
    const git = new GitClient(new DenoProcessRunner(), { cwd: dir, env });
    await git.git(["init", "--quiet"]);
    await git.git(["commit", "--quiet", "--allow-empty", "-m", "plain"]);
    const plain = (await git.revParse(["HEAD"]))[0];
    // A Latin-1 message: the byte 0xE9 alone is not UTF-8.
    const message = join(dir, "message");
    await Deno.writeFile(
      message,
      new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]),
    );
    await git.git([
      "-c",
      "i18n.commitEncoding=ISO-8859-1",
      "commit",
      "--quiet",
      "--allow-empty",
      "-F",
      message,
    ]);
    const latin = (await git.revParse(["HEAD"]))[0];
    const read = await readSignedCommits(git, [plain, latin, plain]);
    assert.equal(read.length, 2);
    assert.equal(read[0].unreadable, undefined);
    assert.match(read[0].payload, /\n\nplain\n$/);
    assert.equal(read[1].commit, latin);
    assert.match(read[1].unreadable!, /not UTF-8/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
