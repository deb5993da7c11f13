import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess } from "./helpers/agent_process.ts";
import { cli, parseJson, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import { allowedSigners, sshKey } from "./helpers/signing.ts";

Deno.test("plan and status use the --allowed-signers the daemon was started with, and say so in one line", async () => {
  await using fixture = await GitFixture.create({});
  const key = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed"), [
    { principal: "alice@example.test", key },
  ]);
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const daemon = AgentProcess.start(fixture.clone, {
    interval: 3600,
    globals: ["--allowed-signers", signers],
  });
  await daemon.waitForLog(/refused|signature|not signed/i);
  await daemon.stop();
  assert.deepEqual(await readLines(log), [], "the daemon refused the commit");

  const plan = await spawnCli(["--repo", fixture.clone, "plan"]);

  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /nothing runs/);
  assert.doesNotMatch(plan.stdout, /api .* yes /);
  const notes = plan.stderr.split("\n").filter((line) =>
    line.includes("using the settings the daemon was started with")
  );
  assert.equal(notes.length, 1, plan.stderr);
  assert.match(notes[0], /--allowed-signers .*allowed \(this command: none\)/);
  const status = parseJson<{ services: { state: string }[] }>(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  assert.deepEqual(status.services.map((service) => service.state), [
    "refused",
  ]);
});

Deno.test("commands use the daemon's --host unless given their own", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      hosts: ["edge"],
    }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  await git(fixture.clone, "pull", "--quiet");
  const daemon = AgentProcess.start(fixture.clone, {
    interval: 3600,
    globals: ["--host", "edge"],
  });
  await daemon.waitForLog(/deployed /, 2);
  await daemon.stop();

  const names = async (args: string[]) =>
    parseJson<{ services: { name: string }[] }>(
      await cli(["--repo", fixture.clone, ...args, "status", "--json"]),
    ).services.map((service) => service.name);
  assert.deepEqual(await names([]), ["api", "web"]);
  assert.deepEqual(await names(["--host", "elsewhere"]), ["web"]);
  const quiet = await spawnCli([
    "--repo",
    fixture.clone,
    "--host",
    "edge",
    "status",
  ]);
  assert.doesNotMatch(quiet.stderr, /using the settings the daemon/);
});
