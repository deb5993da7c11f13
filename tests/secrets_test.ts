import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, parseJson, runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort, Receiver } from "./helpers/http_receiver.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";

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

Deno.test("secrets read from files (secret_file, read_token_file, url_file) are used and reach no hook's environment", async () => {
  await using receiver = Receiver.start();
  const dir = await Deno.makeTempDir({ prefix: "uw-secret-files-" });
  try {
    const file = async (name: string, text: string) => {
      const path = join(dir, name);
      await Deno.writeTextFile(path, text, { mode: 0o600 });
      return path;
    };
    const secret = await file("webhook", "file-webhook-secret\n");
    const readToken = await file("read", "file-read-token\n");
    const notifyUrl = await file("notify", `${receiver.url}/from-file\n`);
    const envDump = join(dir, "hook.env");
    await using fixture = await GitFixture.create({
      ".upstream-watch.yaml": [
        "webhook:",
        `  listen: "127.0.0.1:${freePort()}"`,
        `  secret_file: ${secret}`,
        `  read_token_file: ${readToken}`,
        "notify:",
        `  - url_file: ${notifyUrl}`,
        "",
      ].join("\n"),
      "api/.update-hooks.yaml": hookFile({
        update_commands: [`env > ${envDump}`],
      }),
    });
    await using daemon = await DaemonProcess.start([
      "--repo",
      fixture.clone,
      "run",
      "--interval",
      "60",
    ]);
    const [event] = await receiver.waitFor(1);
    assert.equal(event.path, "/from-file");
    const unauthorized = await fetch(`${daemon.url}/api/status`);
    await unauthorized.body?.cancel();
    assert.equal(unauthorized.status, 401);
    const status = await fetch(`${daemon.url}/api/status`, {
      headers: { authorization: "Bearer file-read-token" },
    });
    await status.body?.cancel();
    assert.equal(status.status, 200);
    const delivery = await fetch(`${daemon.url}/webhook`, {
      method: "POST",
      headers: { authorization: "Bearer file-webhook-secret" },
      body: "{}",
    });
    await delivery.body?.cancel();
    assert.equal(delivery.status, 202);
    const env = await Deno.readTextFile(envDump);
    for (const value of ["file-webhook-secret", "file-read-token"]) {
      assert.ok(!env.includes(value), `${value} reached a hook`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a secret given both inline and as a file, or as a relative file, is a configuration error naming the key", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml":
      "webhook:\n  secret: abc\n  secret_file: /run/secrets/webhook\n",
  });
  const both = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /"secret" and "secret_file" both given/);
  await fixture.push({
    ".upstream-watch.yaml":
      "commit_status:\n  - provider: github\n    token_file: secrets/token\n",
  });
  await git(fixture.clone, "pull", "--quiet");
  const relative = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(relative.code, 2);
  assert.match(relative.stderr, /token_file.*must be an absolute path/);
  await fixture.push({
    ".upstream-watch.yaml":
      "commit_status:\n  - provider: github\n    token_file: /nonexistent/uw-token\n",
  });
  await git(fixture.clone, "pull", "--quiet");
  const missing = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /token_file.*cannot read \/nonexistent\/uw-token/,
  );
});
