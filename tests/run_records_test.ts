import assert from "node:assert/strict";
import { join } from "node:path";
import { StateStore } from "../src/state/store.ts";
import { cli, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

/** A Deno script, run as a hook, that copies what the state DB says about the service's newest run into `out`. */
function recordOwnRunScript(out: string): string {
  return `
    import { DatabaseSync } from "node:sqlite";
    const file = Deno.env.get("UPSTREAM_WATCH_REPO") + "/.upstream-watch.sqlite";
    const db = new DatabaseSync(file, { readOnly: true });
    const run = db.prepare(
      "SELECT id, outcome, finished_at FROM runs WHERE service = ? ORDER BY id DESC LIMIT 1",
    ).get(Deno.env.get("UPSTREAM_WATCH_SERVICE"));
    const commands = db.prepare("SELECT count(*) AS n FROM run_commands WHERE run_id = ?").get(run.id);
    db.close();
    Deno.writeTextFileSync(${
    JSON.stringify(out)
  }, JSON.stringify({ ...run, commands: commands.n }));
  `;
}

Deno.test("a run is recorded as running before its first command starts", async () => {
  await using fixture = await GitFixture.create({});
  const seen = join(fixture.root, "seen-by-hook.json");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      pre_update_commands: [[
        Deno.execPath(),
        "eval",
        recordOwnRunScript(seen),
      ]],
    }),
  });

  const result = await cli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  const duringRun = JSON.parse(await Deno.readTextFile(seen));
  assert.equal(duringRun.outcome, "running");
  assert.equal(duringRun.finished_at, null);
  assert.equal(duringRun.commands, 0);
  const [after] = runRows(stateFileOf(fixture.clone));
  assert.equal(after.id, duringRun.id);
  assert.equal(after.outcome, "succeeded");
  assert.notEqual(after.finished_at, null);
});

Deno.test("a run left running by a crash becomes interrupted at start and its service runs again", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  const head = await fixture.cloneHead();
  const state = stateFileOf(fixture.clone);
  // What an agent killed in the middle of a run leaves behind.
  const store = StateStore.open(state);
  let cutOff: number;
  try {
    cutOff = store.startRun({
      service: "api",
      trigger: "poll",
      fromCommit: head,
      toCommit: head,
      revision: head,
      startedAt: Date.now(),
      reason: { kind: "first_deploy" },
    });
  } finally {
    store.close();
  }

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`run ${cutOff} of api .*interrupted`));
  const rows = runRows(state);
  const interrupted = rows.find((row) => row.id === cutOff)!;
  assert.equal(interrupted.outcome, "interrupted");
  assert.notEqual(interrupted.finished_at, null);
  assert.deepEqual((await readLines(log)).slice(2), ["api"]);
  const rerun = rows.at(-1)!;
  assert.ok(Number(rerun.id) > cutOff);
  assert.equal(rerun.service, "api");
  assert.equal(rerun.outcome, "succeeded");
  assert.equal(JSON.parse(String(rerun.reason)).kind, "interrupted");
  assert.equal(serviceRow(state, "api")?.last_outcome, "succeeded");
  assert.equal(serviceRow(state, "api")?.failed_attempts, 0);
});
