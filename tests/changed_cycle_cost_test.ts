import assert from "node:assert/strict";
import { join } from "node:path";
import { openApp } from "../src/app/compose.ts";
import { isolateGitConfig } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";

function serviceNames(count: number): string[] {
  return Array.from(
    { length: count },
    (_, index) => `service-${String(index).padStart(3, "0")}`,
  );
}

/** A fixture with `count` services, all deployed by one first cycle. */
async function deployedServices(count: number): Promise<GitFixture> {
  const fixture = await GitFixture.create({});
  await fixture.push(Object.fromEntries(
    serviceNames(count).map((name) => [
      `${name}/.update-hooks.yaml`,
      hookFile({ update_commands: [["true"]] }),
    ]),
  ));
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  assert.equal((await app.agent.runCycle({ trigger: "poll" })).failed, false);
  return fixture;
}

/** Git processes a warm agent starts from the cycle's start to its first hook command, when one service changed. */
async function processesBeforeFirstCommand(
  fixture: GitFixture,
): Promise<number> {
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  // A warm agent: the daemon's steady state, its service listing done once.
  await app.agent.runCycle({ trigger: "poll" });
  let atFirstCommand: number | undefined;
  app.runListeners.push({
    runStarted: () => atFirstCommand ??= app.git.spawned,
    runFinished: () => {},
  });
  await fixture.push({ [join(serviceNames(1)[0], "version.txt")]: "2\n" });
  const before = app.git.spawned;
  const result = await app.agent.runCycle({ trigger: "poll" });
  assert.deepEqual(result.runs.map((run) => run.service), [serviceNames(1)[0]]);
  assert.equal(result.runs[0].outcome, "succeeded");
  assert.ok(atFirstCommand !== undefined, "the run started");
  return atFirstCommand - before;
}

Deno.test("the git processes before the first command of a changed service do not grow with the number of services", async () => {
  await using few = await deployedServices(3);
  await using many = await deployedServices(300);

  const fewCost = await processesBeforeFirstCommand(few);
  const manyCost = await processesBeforeFirstCommand(many);

  assert.equal(manyCost, fewCost);
  // fetch, rev-parse, dirty check, merge, the repository configuration's
  // listing, the hook-file diff, the diff, the newest commit (11 before).
  assert.ok(fewCost <= 8, `before the first command: ${fewCost}`);
});
