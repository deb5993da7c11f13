import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson, runOnce } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import { ageKeyPair, encryptDotenv } from "./helpers/sops_encrypt.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** A fixture whose service `api` decrypts `app.sops.env` to `.env` and passes it as environment. */
async function secretFixture(
  secret: Record<string, string>,
  extraHooks: Record<string, unknown> = {},
) {
  const keys = await ageKeyPair();
  const fixture = await GitFixture.create({});
  const keyFile = join(fixture.root, "age-keys.txt");
  await Deno.writeTextFile(keyFile, `# test identity\n${keys.identity}\n`);
  const log = join(fixture.root, "ran.log");
  const hooks = {
    secrets: [{ file: "app.sops.env", to: ".env" }],
    env_from: "app.sops.env",
    update_commands: [
      `echo "env=$API_TOKEN file=$(cat .env)" >> ${shellQuote(log)}`,
      'echo "printing the token: $API_TOKEN"',
    ],
    ...extraHooks,
  };
  await fixture.push({
    "api/.update-hooks.yaml": hookFile(hooks),
    "api/app.sops.env": await encryptDotenv(secret, keys.recipient),
  });
  return { fixture, keys, keyFile, log, hooks };
}

const TOKEN_1 = "first-token-9f1c2e";
const TOKEN_2 = "second-token-4ab7d0";

Deno.test("a SOPS dotenv file is decrypted before the hooks: written 0600 from the commit, excluded from git, its values in the hooks' environment and masked in stored output", async () => {
  const { fixture, keyFile, log } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;

  const result = await runOnce(fixture.clone, ["--age-key-file", keyFile]);

  assert.equal(result.code, 0, result.stderr);
  const env = join(fixture.clone, "api", ".env");
  assert.equal(await Deno.readTextFile(env), `API_TOKEN=${TOKEN_1}\n`);
  assert.equal((await Deno.stat(env)).mode! & 0o777, 0o600);
  assert.deepEqual(await readLines(log), [
    `env=${TOKEN_1} file=API_TOKEN=${TOKEN_1}`,
  ]);
  assert.equal(await git(fixture.clone, "status", "--porcelain"), "");
  const exclude = await Deno.readTextFile(
    join(fixture.clone, ".git", "info", "exclude"),
  );
  assert.match(exclude, /^\/api\/\.env$/m);

  const [run] = runRows(stateFileOf(fixture.clone), "api");
  const logs = await cli(["--repo", fixture.clone, "logs", String(run.id)]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /app\.sops\.env → \.env: \d+ bytes/);
  assert.match(logs.stdout, /printing the token: \*\*\*/);
  const json = await cli([
    "--repo",
    fixture.clone,
    "logs",
    String(run.id),
    "--json",
  ]);
  const state = await Deno.readFile(stateFileOf(fixture.clone));
  for (
    const text of [
      logs.stdout,
      json.stdout,
      new TextDecoder("latin1").decode(state),
    ]
  ) {
    assert.ok(!text.includes(TOKEN_1), "the plaintext leaked");
  }
});

Deno.test("daemon: a pushed secret change redeploys and the hook sees the new value; the plaintext is in neither the state nor the log", async () => {
  const { fixture, keys, log } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  const keyFile = join(fixture.root, "age-keys.txt");
  await using agent = AgentProcess.start(fixture.clone, {
    env: { SOPS_AGE_KEY_FILE: keyFile },
  });
  await waitUntil(async () => (await readLines(log)).length >= 1, {
    message: "the first deploy ran",
  });

  await fixture.push({
    "api/app.sops.env": await encryptDotenv(
      { API_TOKEN: TOKEN_2 },
      keys.recipient,
    ),
  });

  await waitUntil(async () => (await readLines(log)).length >= 2, {
    message: "the secret change redeployed",
  });
  const stopped = await agent.stop();
  assert.deepEqual(
    (await readLines(log))[1],
    `env=${TOKEN_2} file=API_TOKEN=${TOKEN_2}`,
  );
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", ".env")),
    `API_TOKEN=${TOKEN_2}\n`,
  );
  const state = new TextDecoder("latin1").decode(
    await Deno.readFile(stateFileOf(fixture.clone)),
  );
  for (const token of [TOKEN_1, TOKEN_2]) {
    assert.ok(!stopped.stderr.includes(token), "the plaintext is in the log");
    assert.ok(!state.includes(token), "the plaintext is in the state file");
  }
  assert.match(stopped.stderr, /printing the token: \*\*\*/);
});

Deno.test("a wrong key fails the run at decrypt with one line, runs no hook and leaves the previous file untouched", async () => {
  const { fixture, keyFile, log } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );
  const other = await ageKeyPair();
  await fixture.push({
    "api/app.sops.env": await encryptDotenv(
      { API_TOKEN: TOKEN_2 },
      other.recipient,
    ),
  });

  const result = await runOnce(fixture.clone, ["--age-key-file", keyFile]);

  assert.equal(result.code, 1, result.stderr);
  assert.equal((await readLines(log)).length, 1, "a hook ran");
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", ".env")),
    `API_TOKEN=${TOKEN_1}\n`,
  );
  const history = parseJson<{ runs: Record<string, unknown>[] }>(
    await cli(["--repo", fixture.clone, "history", "api", "--json"]),
  );
  const [failed] = history.runs;
  assert.equal(failed.outcome, "failed");
  assert.equal(failed.failedStep, "decrypt");
  assert.equal(
    failed.error,
    "decrypt: api/app.sops.env: no identity for any of the file's 1 age recipient",
  );
});

Deno.test("a rollback decrypts the old revision's secrets from the commit it goes back to", async () => {
  const { fixture, keys, keyFile, log, hooks } = await secretFixture(
    { API_TOKEN: TOKEN_1 },
    { rollback: true },
  );
  await using _ = fixture;
  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      ...hooks,
      update_commands: [...hooks.update_commands, "exit 5"],
    }),
    "api/app.sops.env": await encryptDotenv(
      { API_TOKEN: TOKEN_2 },
      keys.recipient,
    ),
  });

  const result = await runOnce(fixture.clone, ["--age-key-file", keyFile]);

  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(await readLines(log), [
    `env=${TOKEN_1} file=API_TOKEN=${TOKEN_1}`,
    `env=${TOKEN_2} file=API_TOKEN=${TOKEN_2}`,
    `env=${TOKEN_1} file=API_TOKEN=${TOKEN_1}`,
  ]);
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", ".env")),
    `API_TOKEN=${TOKEN_1}\n`,
  );
  assert.equal(await git(fixture.clone, "status", "--porcelain"), "");
});

Deno.test("an age key file inside the work tree is a configuration error", async () => {
  const { fixture, keys } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  const inside = join(fixture.clone, "keys.txt");
  await Deno.writeTextFile(inside, keys.identity + "\n");

  const result = await runOnce(fixture.clone, ["--age-key-file", inside]);

  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /--age-key-file: .*keys\.txt lies inside the work tree/,
  );
});

Deno.test("history and logs show the runs when the age key file given lies inside the work tree; status refuses it", async () => {
  const { fixture, keys, keyFile } = await secretFixture({
    API_TOKEN: TOKEN_1,
  });
  await using _ = fixture;
  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );
  const inside = join(fixture.clone, "keys.txt");
  await Deno.writeTextFile(inside, keys.identity + "\n");
  const keyFlag = ["--repo", fixture.clone, "--age-key-file", inside];

  const status = await cli([...keyFlag, "status"]);
  assert.equal(status.code, 2);
  assert.match(status.stderr, /keys\.txt lies inside the work tree/);
  const history = await cli([...keyFlag, "history", "--json"]);
  assert.equal(history.code, 0, history.stderr);
  const { runs } = parseJson<{ runs: { id: number; service: string }[] }>(
    history,
  );
  assert.deepEqual(runs.map((run) => run.service), ["api"]);
  const logs = await cli([...keyFlag, "logs", String(runs[0].id)]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /succeeded/);
});

Deno.test("a removed service's decrypted file is removed with it", async () => {
  const { fixture, keyFile } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );
  await fixture.push({
    "api": null,
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });

  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );

  await assert.rejects(
    Deno.stat(join(fixture.clone, "api", ".env")),
    Deno.errors.NotFound,
  );
});

Deno.test("plan shows the decrypt step of a due service", async () => {
  const { fixture, keyFile } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;

  const text = await cli([
    "--repo",
    fixture.clone,
    "--age-key-file",
    keyFile,
    "plan",
  ]);
  const json = parseJson<{ services: { name: string; decrypt: unknown }[] }>(
    await cli(["--repo", fixture.clone, "plan", "--json"]),
  );

  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /decrypt first: app\.sops\.env → \.env/);
  assert.deepEqual(json.services.find((s) => s.name === "api")?.decrypt, [
    { file: "app.sops.env", to: ".env" },
  ]);
});

Deno.test("validate reports a tampered or undecryptable secret and writes nothing", async () => {
  const { fixture, keys, keyFile } = await secretFixture({
    API_TOKEN: TOKEN_1,
  });
  await using _ = fixture;
  /** Pushes `text` as the secret (unless undefined), pulls it and validates. */
  const validateWith = async (text?: string) => {
    if (text !== undefined) await fixture.push({ "api/app.sops.env": text });
    await git(fixture.clone, "pull", "--quiet");
    return await cli([
      "--repo",
      fixture.clone,
      "--age-key-file",
      keyFile,
      "validate",
    ]);
  };
  const good = await validateWith();
  assert.equal(good.code, 0, good.stderr);
  const file = await encryptDotenv(
    { A_KEY: "alpha-1", B_KEY: "bravo-2" },
    keys.recipient,
  );
  const [a, b, ...rest] = file.split("\n");

  // Values moved to the other key: their GCM tags fail.
  const moved = await validateWith(
    [b.replace("B_KEY", "A_KEY"), a.replace("A_KEY", "B_KEY"), ...rest].join(
      "\n",
    ),
  );
  assert.equal(moved.code, 2);
  assert.match(
    moved.stderr,
    /^api: api\/app\.sops\.env: the value at A_KEY fails its GCM tag/m,
  );
  // Lines reordered: each value still decrypts, the MAC does not match.
  const reordered = await validateWith([b, a, ...rest].join("\n"));
  assert.equal(reordered.code, 2);
  assert.match(reordered.stderr, /api\/app\.sops\.env: MAC mismatch/);
  await assert.rejects(
    Deno.stat(join(fixture.clone, "api", ".env")),
    Deno.errors.NotFound,
  );
});

Deno.test("a failed decrypt notifies deploy_failed with the step and the reason, never a value", async () => {
  await using receiver = Receiver.start();
  const { fixture, keyFile } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  const other = await ageKeyPair();
  await fixture.push({
    ".upstream-watch.yaml": hookFile({
      notify: [{ url: `${receiver.url}/events`, format: "json" }],
    }),
    "api/app.sops.env": await encryptDotenv(
      { API_TOKEN: TOKEN_2 },
      other.recipient,
    ),
  });

  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    1,
  );

  const events = receiver.requests.map((request) => JSON.parse(request.body));
  const failed = events.find((event) => event.event === "deploy_failed");
  assert.ok(failed, JSON.stringify(events));
  assert.equal(failed.service, "api");
  assert.match(
    JSON.stringify(failed),
    /decrypt: api\/app\.sops\.env: no identity/,
  );
  for (const request of receiver.requests) {
    assert.ok(!request.body.includes(TOKEN_2));
  }
});

Deno.test("deploy decrypts again: a deleted .env is written back before the hooks", async () => {
  const { fixture, keyFile, log } = await secretFixture({ API_TOKEN: TOKEN_1 });
  await using _ = fixture;
  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    0,
  );
  await Deno.remove(join(fixture.clone, "api", ".env"));

  const result = await cli([
    "--repo",
    fixture.clone,
    "--age-key-file",
    keyFile,
    "deploy",
    "api",
  ]);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", ".env")),
    `API_TOKEN=${TOKEN_1}\n`,
  );
  assert.equal((await readLines(log)).length, 2);
});

Deno.test("nothing is written unless every secret of the service decrypts", async () => {
  const keys = await ageKeyPair();
  const other = await ageKeyPair();
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({
      secrets: ["a.sops.env", "b.sops.env"],
      update_commands: ["true"],
    }),
    "api/a.sops.env": await encryptDotenv({ A: "alpha-value" }, keys.recipient),
    "api/b.sops.env": await encryptDotenv(
      { B: "bravo-value" },
      other.recipient,
    ),
  });
  const keyFile = join(fixture.root, "age.key");
  await Deno.writeTextFile(keyFile, keys.identity + "\n");

  const result = await runOnce(fixture.clone, ["--age-key-file", keyFile]);

  assert.equal(result.code, 1);
  await assert.rejects(
    Deno.stat(join(fixture.clone, "api", "a.env")),
    Deno.errors.NotFound,
  );
  const [run] = runRows(stateFileOf(fixture.clone), "api");
  assert.equal(run.failed_step, "decrypt");
  assert.match(String(run.error), /api\/b\.sops\.env: no identity/);
});

Deno.test("a decrypted file that git tracks is refused: the plaintext would be committed", async () => {
  const keys = await ageKeyPair();
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({
      secrets: [{ file: "a.sops.env", to: "tracked.env" }],
      update_commands: ["true"],
    }),
    "api/a.sops.env": await encryptDotenv({ A: "alpha-value" }, keys.recipient),
    "api/tracked.env": "A=placeholder\n",
  });
  const keyFile = join(fixture.root, "age.key");
  await Deno.writeTextFile(keyFile, keys.identity + "\n");

  assert.equal(
    (await runOnce(fixture.clone, ["--age-key-file", keyFile])).code,
    1,
  );

  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", "tracked.env")),
    "A=placeholder\n",
  );
  const [run] = runRows(stateFileOf(fixture.clone), "api");
  assert.match(
    String(run.error),
    /its target api\/tracked\.env is tracked by git/,
  );
});
