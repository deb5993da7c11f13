import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, pause, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson, runOnce } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";

/** Hooks that log `<trigger> <v>`, fail for v 2, and are healthy while `marker` exists (`health` overrides that). */
function hooks(log: string, marker: string, health?: string): string {
  return hookFile({
    update_commands: [
      `echo "$UPSTREAM_WATCH_TRIGGER $(cat v)" >> ${shellQuote(log)}`,
      `[ "$(cat v)" != 2 ]`,
    ],
    post_update_commands: [`touch ${shellQuote(marker)}`],
    health_commands: [health ?? `test -f ${shellQuote(marker)}`],
    health_timeout: 0.5,
    health_interval: 0.1,
    check_interval: 0.2,
    rollback: true,
  });
}

Deno.test("a held service is checked with the health commands of the revision it runs and healed at that revision", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const marker = join(root, "up");
  await using fixture = await GitFixture.create({
    "web/.update-hooks.yaml": hooks(log, marker),
    "web/v": "1\n",
  });
  await git(fixture.clone, "pull", "--quiet");
  assert.equal((await runOnce(fixture.clone)).code, 0);
  // HEAD's health command would never pass: checks must not use it.
  await fixture.push({
    "web/.update-hooks.yaml": hooks(log, marker, "false"),
    "web/v": "2\n",
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  assert.deepEqual(await readLines(log), ["poll 1", "poll 2", "rollback 1"]);

  await using daemon = AgentProcess.start(fixture.clone, { interval: 3600 });
  await daemon.waitForLog(/watching /);
  // A few passing checks first: none heals.
  await pause(1000);
  assert.deepEqual((await readLines(log)).slice(3), []);
  await Deno.remove(marker);

  await waitUntil(async () => (await readLines(log)).includes("heal 1"), {
    message: `the held service was healed:\n${daemon.stderr}`,
  });
  await pause(1000);
  assert.deepEqual((await readLines(log)).slice(3), ["heal 1"]);
  assert.equal(await git(fixture.clone, "status", "--porcelain"), "");
  const status = parseJson<{ services: { state: string }[] }>(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  assert.equal(status.services[0].state, "held");
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});
