import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, parseJson, runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";

const TOKEN = "glpat-QUERYSECRET";
const FRAGMENT = "FRAGMENTSECRET";

Deno.test("a token in the remote URL's query or fragment reaches neither the log nor the sync_failed notification", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": `notify:\n  - url: "${receiver.url}/events"\n`,
    "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
  });
  // Port 1 on the loopback refuses at once: the fetch fails with the URL in git's message.
  await git(
    fixture.clone,
    "remote",
    "set-url",
    "origin",
    `http://127.0.0.1:1/x.git?private_token=${TOKEN}#${FRAGMENT}`,
  );

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /private_token=\*\*\*/);
  for (const secret of [TOKEN, FRAGMENT]) {
    assert.ok(!result.stderr.includes(secret), result.stderr);
    for (const request of receiver.requests) {
      assert.ok(!request.body.includes(secret), request.body);
      assert.ok(!request.path.includes(secret));
    }
  }
  const failed = receiver.requests.filter((request) =>
    request.body.includes("sync_failed")
  );
  assert.equal(failed.length, 1, JSON.stringify(receiver.requests));
  assert.match(failed[0].body, /private_token=\*\*\*/);
});

Deno.test("hooks do not inherit the variables the agent's configuration reads, unless their env passes them", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "env.log");
  const report =
    `echo "$UPSTREAM_WATCH_SERVICE token=\${UW_SECRETS_TOKEN:-unset} path=\${UW_SECRETS_PLAIN:-unset}" >> ${log}`;
  await fixture.push({
    ".upstream-watch.yaml":
      `notify:\n  - url: "${receiver.url}/n?auth=\${UW_SECRETS_TOKEN}"\n`,
    "api/.update-hooks.yaml": hookFile({ update_commands: [report] }),
    "ops/.update-hooks.yaml": hookFile({
      update_commands: [report],
      env: { UW_SECRETS_TOKEN: "${UW_SECRETS_TOKEN}" },
    }),
  });
  Deno.env.set("UW_SECRETS_TOKEN", "notify-token-value");
  Deno.env.set("UW_SECRETS_PLAIN", "kept");
  try {
    const result = await runOnce(fixture.clone);
    assert.equal(result.code, 0, result.stderr);
  } finally {
    Deno.env.delete("UW_SECRETS_TOKEN");
    Deno.env.delete("UW_SECRETS_PLAIN");
  }

  assert.deepEqual((await readLines(log)).sort(), [
    "api token=unset path=kept",
    "ops token=notify-token-value path=kept",
  ]);
  // The agent itself still used the variable.
  assert.ok(
    receiver.requests.some((request) =>
      request.path.includes("auth=notify-token-value")
    ),
  );
  const logs = parseJson<{ commands: { output: string }[] }>(
    await cli(["--repo", fixture.clone, "logs", "1", "--json"]),
  );
  assert.equal(logs.commands.length, 1);
});
