/** Idle cycles in this process: their time against git's floor, their git processes, and that they write nothing. */
import { join } from "node:path";
import { openApp } from "../../src/app/compose.ts";
import { type BenchContext, STATE_FILE } from "../context.ts";
import type { BenchRepo } from "../fixture.ts";
import { idleFloor } from "../floors.ts";
import { signedRepoOf } from "../signed_fixture.ts";
import { summarize, wallMs } from "../stats.ts";
import {
  dataVersionProbe,
  dbFingerprint,
  describeWrites,
} from "../state_db.ts";

/** Runs `reps` idle cycles at every size, each after one floor measurement. */
export async function idleScenario(context: BenchContext): Promise<void> {
  for (const size of context.settings.sizes) {
    await idleAt(await context.repoOf(size), context, "");
    await idleAt(await signedRepoOf(context, size), context, ", verify on");
  }
}

async function idleAt(
  repo: BenchRepo,
  context: BenchContext,
  variant: string,
): Promise<void> {
  const { settings, rows } = context;
  const n = String(repo.services);
  const statePath = join(repo.clone, STATE_FILE);
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  if (app.store.services().size === 0) await app.agent.adopt("all");
  await app.agent.runCycle({ trigger: "poll" }); // the first cycle: caches fill
  // The signed fixture's first cycle moves onto the commit that turns
  // verification on; the second verifies HEAD once and records it.
  if (variant) await app.agent.runCycle({ trigger: "poll" });
  const before = await dbFingerprint(statePath);
  const version = dataVersionProbe(statePath);
  const cycles: number[] = [];
  const floors: number[] = [];
  const spawned: number[] = [];
  for (let rep = 0; rep < settings.reps; rep++) {
    floors.push(await idleFloor(repo.clone));
    const spawnedBefore = app.git.spawned;
    const start = wallMs();
    const result = await app.agent.runCycle({ trigger: "poll" });
    cycles.push(wallMs() - start);
    spawned.push(app.git.spawned - spawnedBefore);
    if (result.runs.length > 0 || result.sync.before !== result.sync.after) {
      throw new Error(`idle cycle at N=${n} was not idle`);
    }
  }
  const after = await dbFingerprint(statePath);
  const writes = describeWrites(before, after, version.changed());
  version.close();
  const cycle = summarize(cycles);
  const floor = summarize(floors);
  const count = summarize(spawned);
  const ratio = cycle.median / floor.median;
  const targeted = repo.services >= 1000;
  rows.push({
    figure: `idle cycle (daemon mode, in-process, after the first${variant})`,
    n,
    value: cycle,
    unit: "ms",
    floor: floor.median,
    floorLabel: "fetch+rev-parse+diff",
    ratio,
    target: targeted ? "≤ 1.5× floor" : undefined,
    met: targeted ? ratio <= 1.5 : undefined,
  });
  rows.push({
    figure: `git processes per idle cycle (GitClient.spawned${variant})`,
    n,
    value: count,
    unit: "count",
    floor: 3,
    floorLabel: "fetch+rev-parse+diff",
    ratio: count.max / 3,
    target: "≤ 3",
    met: count.max <= 3,
  });
  rows.push({
    figure:
      `state DB writes during ${settings.reps} in-process idle cycles${variant}`,
    n,
    value: writes.text,
    unit: "",
    target: "0",
    met: writes.untouched,
  });
}
