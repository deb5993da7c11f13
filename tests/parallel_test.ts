/** parallel: independent services at the same time, never before their dependencies. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runOnce } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** A hook that marks its start, then waits (at most ~10 s, else fails) for `other` to have started. */
function rendezvous(dir: string, self: string, other: string): string {
  const mine = shellQuote(join(dir, `${self}.started`));
  const theirs = shellQuote(join(dir, `${other}.started`));
  return `touch ${mine}; i=0; while [ ! -f ${theirs} ]; do i=$((i+1)); if [ $i -gt 200 ]; then echo "${other} never started alongside ${self}"; exit 1; fi; sleep 0.05; done`;
}

Deno.test("parallel: 2 runs two independent services at the same time", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ parallel: 2 }),
  });
  const markers = join(fixture.root, "markers");
  await Deno.mkdir(markers);
  await fixture.push({
    "one/.update-hooks.yaml": hookFile({
      update_commands: [rendezvous(markers, "one", "two")],
    }),
    "two/.update-hooks.yaml": hookFile({
      update_commands: [rendezvous(markers, "two", "one")],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    runRows(stateFileOf(fixture.clone)).map((run) => run.outcome),
    ["succeeded", "succeeded"],
  );
});

Deno.test("parallel never starts a service before its dependency finished", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ parallel: 3 }),
  });
  const markers = join(fixture.root, "markers");
  await Deno.mkdir(markers);
  const baseDone = shellQuote(join(markers, "base.done"));
  const needsBase = (self: string, other: string) =>
    hookFile({
      depends_on: ["base"],
      update_commands: [
        `test -f ${baseDone}`,
        rendezvous(markers, self, other),
      ],
    });
  await fixture.push({
    "base/.update-hooks.yaml": hookFile({
      update_commands: [`sleep 0.5; touch ${baseDone}`],
    }),
    "xapp/.update-hooks.yaml": needsBase("xapp", "yapp"),
    "yapp/.update-hooks.yaml": needsBase("yapp", "xapp"),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  const runs = runRows(stateFileOf(fixture.clone));
  // Independent services started at once may get their run ids in either order.
  const [base, ...dependents] = runs;
  assert.deepEqual([base.service, base.outcome], ["base", "succeeded"]);
  assert.deepEqual(
    dependents.map((run) => [run.service, run.outcome]).sort(),
    [["xapp", "succeeded"], ["yapp", "succeeded"]],
  );
  for (const dependent of dependents) {
    assert.ok(Number(dependent.started_at) >= Number(base.finished_at));
  }
});
