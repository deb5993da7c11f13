import assert from "node:assert/strict";
import { GitClient } from "../src/git/git_client.ts";
import { DenoProcessRunner } from "../src/process/run_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";

const SERVICES = 150;
const CONCURRENT_CALLS = 80;

/**
 * Keeps the event loop busy in slices longer than a second, as a flood of
 * requests does, until the returned function is called.
 */
function hogEventLoop(sliceMs: number): () => Promise<void> {
  let busy = true;
  const hog = (async () => {
    while (busy) {
      const until = performance.now() + sliceMs;
      while (performance.now() < until) { /* hold the event loop */ }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  return async () => {
    busy = false;
    await hog;
  };
}

Deno.test("git answers are never cut short while the event loop is overloaded", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < SERVICES; i++) {
    const name = `service-${String(i).padStart(3, "0")}`;
    files[`${name}/.update-hooks.yaml`] = `update_commands: ["echo ${name}"]\n`;
  }
  // A hook file larger than a pipe's buffer, so `git show` is read in chunks.
  files["big/.update-hooks.yaml"] = "# padding\n".repeat(20_000);
  await using fixture = await GitFixture.create(files);
  const client = new GitClient(new DenoProcessRunner(), { cwd: fixture.clone });
  const head = (await client.revParse(["HEAD"]))[0];
  const expectedBig = files["big/.update-hooks.yaml"];

  const stopHog = hogEventLoop(1100);
  try {
    const calls = Array.from({ length: CONCURRENT_CALLS }, async (_, i) => {
      if (i % 2 === 0) {
        const trees = await client.topLevelTrees(head);
        assert.equal(trees.length, SERVICES + 1, `ls-tree call ${i}`);
      } else {
        const text = await client.showFile(head, "big/.update-hooks.yaml");
        assert.equal(text.length, expectedBig.length, `git show call ${i}`);
      }
    });
    // Every call either answers in full or throws: none may resolve with a part.
    const outcomes = await Promise.allSettled(calls);
    const failures = outcomes.filter((outcome) => outcome.status === "rejected")
      .map((outcome) => String((outcome as PromiseRejectedResult).reason));
    assert.deepEqual(failures, []);
  } finally {
    await stopHog();
  }
});
