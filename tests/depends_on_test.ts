/** depends_on: dependency order, dependency errors and skipped dependents. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pause } from "./helpers/agent_process.ts";
import { cli, runOnce } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

Deno.test("depends_on runs services after their dependencies, then by name", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "order.log");
  await fixture.push({
    "app/.update-hooks.yaml": appendingHooks(log, { depends_on: ["db"] }),
    "db/.update-hooks.yaml": appendingHooks(log, { depends_on: ["zcache"] }),
    "zcache/.update-hooks.yaml": appendingHooks(log),
    "beta/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["beta", "zcache", "db", "app"]);
});

Deno.test("a dependency cycle or an unknown dependency is a config error of those services; the others still deploy", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "alpha/.update-hooks.yaml": appendingHooks(log, { depends_on: ["bravo"] }),
    "bravo/.update-hooks.yaml": appendingHooks(log, { depends_on: ["alpha"] }),
    "delta/.update-hooks.yaml": appendingHooks(log, { depends_on: ["ghost"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(validate.code, 2);
  assert.match(
    validate.stderr,
    /alpha\/\.update-hooks\.yaml \(depends_on\): dependency cycle: alpha → bravo → alpha/,
  );
  assert.match(
    validate.stderr,
    /bravo\/\.update-hooks\.yaml \(depends_on\): dependency cycle/,
  );
  assert.match(
    validate.stderr,
    /delta\/\.update-hooks\.yaml \(depends_on\): depends on unknown service ghost/,
  );
  assert.match(validate.stdout, /1 of 4 services valid/);

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["web"]);
  const outcomes = Object.fromEntries(
    runRows(state).map((run) => [
      run.service,
      [run.outcome, run.failed_step],
    ]),
  );
  assert.deepEqual(outcomes, {
    alpha: ["failed", "config"],
    bravo: ["failed", "config"],
    delta: ["failed", "config"],
    web: ["succeeded", null],
  });
  assert.match(
    String(runRows(state, "alpha")[0].error),
    /dependency cycle: alpha → bravo → alpha/,
  );
  assert.match(
    String(runRows(state, "delta")[0].error),
    /unknown service ghost/,
  );
});

Deno.test("a failed dependency marks its dependents skipped; both run again once it succeeds", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ retry_backoff: 0.2 }),
  });
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const healthy = join(fixture.root, "db-healthy");
  await fixture.push({
    "db/.update-hooks.yaml": hookFile({
      update_commands: [`test -f ${shellQuote(healthy)}`, appendLine(log)],
    }),
    "app/.update-hooks.yaml": appendingHooks(log, { depends_on: ["db"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const first = await runOnce(fixture.clone);

  assert.equal(first.code, 1);
  assert.deepEqual(await readLines(log), ["web"]);
  const [skipped] = runRows(state, "app");
  assert.equal(skipped.outcome, "skipped");
  assert.match(String(skipped.error), /dependency db did not succeed/);
  assert.equal(serviceRow(state, "app")?.deployed_commit, null);

  await Deno.writeTextFile(healthy, "");
  await pause(300);
  const second = await runOnce(fixture.clone);

  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await readLines(log), ["web", "db", "app"]);
  assert.equal(runRows(state, "app").at(-1)?.outcome, "succeeded");
});
