import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";

Deno.test("a failed fetch reports git's last meaningful lines without \\r, and its whole stderr at debug", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  // ssh that warns first and fails last, as a missing deploy key does.
  const ssh = join(fixture.root, "ssh");
  await Deno.writeTextFile(
    ssh,
    `#!/bin/sh
printf 'Warning: Identity file /keys/deploy not accessible: No such file or directory.\\r\\n' >&2
printf 'git@git.example.test: Permission denied (publickey).\\r\\n' >&2
exit 255
`,
  );
  await Deno.chmod(ssh, 0o755);
  await git(
    fixture.clone,
    "remote",
    "set-url",
    "origin",
    "git@git.example.test:infra.git",
  );

  const result = await spawnCli(
    ["--repo", fixture.clone, "--log-level", "debug", "run", "--once"],
    { env: { GIT_SSH_COMMAND: ssh } },
  );

  assert.equal(result.code, 3, result.stderr);
  const final = result.stderr.split("\n").find((line) =>
    line.startsWith("upstream-watch: ")
  )!;
  assert.match(final, /Permission denied \(publickey\)/);
  assert.match(final, /Could not read from remote repository/);
  assert.doesNotMatch(final, /Please make sure/);
  assert.doesNotMatch(result.stderr, /\r/);
  assert.match(
    result.stderr,
    /DBG .*git fetch .* printed: .*and the repository exists/,
  );
});
