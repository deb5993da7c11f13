/** watch_paths: changes outside a service's folder that make it due. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import { historyOf } from "./helpers/cli_documents.ts";

Deno.test("a change under a service's watch_paths makes it due; path components match whole", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "shared/settings.env": "A=1\n",
    "shared-other/settings.env": "A=1\n",
    "api/.update-hooks.yaml": appendingHooks(log, { watch_paths: ["shared"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2);

  await fixture.push({ "shared-other/settings.env": "A=2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2, "shared-other is not shared");

  await fixture.push({ "shared/settings.env": "A=2\n" });
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readLines(log)).slice(2), ["api"]);
  const [newest] = await historyOf(fixture.clone, "api");
  assert.equal(newest.reason.kind, "changed");
  assert.deepEqual(newest.reason.paths, ["shared/settings.env"]);
});
