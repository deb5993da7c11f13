import assert from "node:assert/strict";
import { join } from "node:path";
import { openApp } from "../src/app/compose.ts";
import { isolateGitConfig } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";

Deno.test("a running agent follows the committed repository configuration as it changes, and only then", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": "ignore_folders: []\n",
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  isolateGitConfig();
  using app = await openApp({ repo: fixture.clone }, { readOnly: false });
  const cycle = async () =>
    (await app.agent.runCycle({ trigger: "poll" })).runs.map((run) =>
      run.service
    ).sort();

  assert.deepEqual(await cycle(), ["api", "web"]);

  // The configuration changes in the same push as both services.
  await fixture.push({
    ".upstream-watch.yaml": "ignore_folders: [web]\n",
    "api/compose.yaml": "v2\n",
    "web/compose.yaml": "v2\n",
  });
  assert.deepEqual(await cycle(), ["api"]);
  assert.deepEqual(app.agent.config.ignoreFolders, [".git", "web"]);

  // A push that leaves the configuration alone keeps it in effect.
  await fixture.push({
    "api/compose.yaml": "v3\n",
    "web/compose.yaml": "v3\n",
  });
  assert.deepEqual(await cycle(), ["api"]);

  // An invalid configuration is refused and the one in effect kept.
  await fixture.push({
    ".upstream-watch.yaml": "ignore_folders: 7\n",
    "api/compose.yaml": "v4\n",
    "web/compose.yaml": "v4\n",
  });
  assert.deepEqual(await cycle(), ["api"]);

  // Web comes back once it is no longer ignored, and runs for its changes.
  await fixture.push({ ".upstream-watch.yaml": "ignore_folders: []\n" });
  assert.deepEqual(await cycle(), ["web"]);
  assert.equal((await readLines(log)).length, 6);
});
