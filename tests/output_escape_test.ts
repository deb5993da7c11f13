import assert from "node:assert/strict";
import { cli, parseJson, runOnce, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";

const ESC = "\x1b";

interface LogsJson {
  commands: { output: string; command: string }[];
}

Deno.test("a NUL byte in hook output keeps everything after it in logs, logs --json and the notification", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": `notify:\n  - url: "${receiver.url}/hook"\n`,
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["printf 'before\\000after\\nlast line\\n'; exit 3"],
    }),
  });

  assert.equal((await runOnce(fixture.clone)).code, 1);

  const json = parseJson<LogsJson>(
    await cli(["--repo", fixture.clone, "logs", "1", "--json"]),
  );
  assert.equal(json.commands[0].output, "before\0after\nlast line\n");
  const text = await cli(["--repo", fixture.clone, "logs", "1"]);
  assert.match(text.stdout, /before\\0after\nlast line\n/);
  assert.ok(!text.stdout.includes("\0"), "no raw NUL reaches the terminal");
  const [request] = receiver.requests;
  const body = JSON.parse(request.body) as { outputTail: string };
  // deno-lint-ignore no-control-regex
  assert.match(body.outputTail, /before\u0000after\nlast line/);
});

Deno.test("escape sequences in hook output are shown escaped by logs and kept exact by logs --json", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        "printf '\\033[2J\\033]0;owned\\007one\\ttab\\ntwo\\r\\n'",
      ],
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);

  const text = await cli(["--repo", fixture.clone, "logs", "1"]);
  assert.ok(!text.stdout.includes(ESC), JSON.stringify(text.stdout));
  assert.ok(!text.stdout.includes("\x07"));
  assert.match(text.stdout, /\\x1b\[2J\\x1b\]0;owned\\x07one\ttab\ntwo\r\n/);
  const json = parseJson<LogsJson>(
    await cli(["--repo", fixture.clone, "logs", "1", "--json"]),
  );
  assert.equal(
    json.commands[0].output,
    `${ESC}[2J${ESC}]0;owned\x07one\ttab\ntwo\r\n`,
  );
});

Deno.test({
  name:
    "a folder name with a newline and an escape cannot forge lines in the text log, status or history",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fixture = await GitFixture.create({});
    const name = `evil\n2026-01-01T00:00:00.000Z INF forged ${ESC}]0;t${ESC}\\`;
    await fixture.push({
      [`${name}/.update-hooks.yaml`]: hookFile({
        update_commands: ["echo ran"],
      }),
    });

    const run = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stderr.includes(ESC), run.stderr);
    assert.ok(
      run.stderr.split("\n").every((line) =>
        !line.startsWith("2026-01-01T00:00:00.000Z")
      ),
      run.stderr,
    );
    assert.match(run.stderr, /evil\\n2026-01-01T00:00:00\.000Z INF forged/);
    for (const command of [["status"], ["history"]]) {
      const result = await cli(["--repo", fixture.clone, ...command]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(!result.stdout.includes(ESC), command.join(" "));
      assert.match(result.stdout, /evil\\n2026/);
      assert.doesNotMatch(result.stdout, /^2026-01-01/m);
    }
    const json = parseJson<{ services: { name: string }[] }>(
      await cli(["--repo", fixture.clone, "status", "--json"]),
    );
    assert.equal(json.services[0].name, name, "JSON keeps the real name");
  },
});

Deno.test("bytes of hook output that are not UTF-8 are stored as \\xNN, none lost to a replacement character", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["printf 'latin1 \\351t\\351\\nraw \\377\\376 end\\n'"],
    }),
  });

  assert.equal((await runOnce(fixture.clone)).code, 0);

  const json = parseJson<LogsJson>(
    await cli(["--repo", fixture.clone, "logs", "1", "--json"]),
  );
  assert.equal(
    json.commands[0].output,
    "latin1 \\xe9t\\xe9\nraw \\xff\\xfe end\n",
  );
  assert.ok(!json.commands[0].output.includes("\ufffd"));
});
