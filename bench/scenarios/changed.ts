/**
 * One service changed out of N, and a commit that moves HEAD with nothing
 * due: in this process, against git's floor on a second clone, with a
 * breakdown of where the median changed cycle's time went.
 */
import { type App, openApp } from "../../src/app/compose.ts";
import type { BenchContext } from "../context.ts";
import { type BenchRepo, serviceName } from "../fixture.ts";
import { changedFloor, ensureFloorClone } from "../floors.ts";
import { signedRepoOf } from "../signed_fixture.ts";
import { changedSizes } from "../settings.ts";
import { summarize, wallMs } from "../stats.ts";
import { type ProcessEvent, ProcessRecorder } from "../timing_runner.ts";

/** One measured changed cycle. */
export interface ChangedSample {
  cycleToHook: number;
  fetchToHook: number;
  cycle: number;
  spawned: number;
  events: ProcessEvent[];
  start: number;
  hook: number;
}

/** Pushes a change to `service`, runs one cycle and times it; throws unless exactly that service ran and succeeded. */
export async function measureChangedCycle(
  app: App,
  repo: BenchRepo,
  timing: ProcessRecorder,
  service: string,
): Promise<ChangedSample> {
  await repo.pushChange(service);
  timing.reset();
  const spawnedBefore = app.git.spawned;
  const start = wallMs();
  const result = await app.agent.runCycle({ trigger: "poll" });
  const end = wallMs();
  if (
    result.runs.length !== 1 || result.runs[0].service !== service ||
    result.runs[0].outcome !== "succeeded"
  ) {
    throw new Error(
      `changed cycle ran ${JSON.stringify(result.runs)} instead of ${service}`,
    );
  }
  const hookNs = await repo.lastHookStart(service);
  const fetch = timing.first("git fetch");
  if (hookNs === undefined || fetch === undefined) {
    throw new Error("changed cycle: no hook stamp or no fetch recorded");
  }
  const hook = Number(hookNs / 1000n) / 1000;
  return {
    cycleToHook: hook - start,
    fetchToHook: hook - fetch.end,
    cycle: end - start,
    spawned: app.git.spawned - spawnedBefore,
    events: [...timing.events].sort((a, b) => a.start - b.start),
    start,
    hook,
  };
}

/** The changed and HEAD-moved cycles at every size from 1,000 up. */
export async function changedScenario(context: BenchContext): Promise<void> {
  for (const size of changedSizes(context.settings)) {
    await changedAt(await context.repoOf(size), context, "");
    await changedAt(
      await signedRepoOf(context, size),
      context,
      " (verify on)",
    );
  }
}

async function changedAt(
  repo: BenchRepo,
  context: BenchContext,
  variant: string,
): Promise<void> {
  const { settings } = context;
  const rows: typeof context.rows = [];
  const n = String(repo.services);
  using timing = new ProcessRecorder();
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  const { agent, git: gitClient, store } = app;
  if (store.services().size === 0) await agent.adopt("all");
  await agent.runCycle({ trigger: "poll" });
  const floorClone = await ensureFloorClone(repo);

  const samples: ChangedSample[] = [];
  const floorCycleToHook: number[] = [];
  const floorFetchToHook: number[] = [];
  const floorCycle: number[] = [];
  const noopCycles: number[] = [];
  const noopSpawned: number[] = [];
  const noopFloors: number[] = [];
  const bases: number[] = [];
  for (let rep = 0; rep < settings.changedReps; rep++) {
    // Services spread over the range, never the flood service (the last one).
    const service = serviceName(
      Math.floor((rep + 0.5) * (repo.services - 1) / settings.changedReps),
    );
    samples.push(await measureChangedCycle(app, repo, timing, service));
    const floor = await changedFloor(floorClone, true, repo.allowedSigners);
    floorCycleToHook.push(floor.cycleToHook);
    floorFetchToHook.push(floor.fetchToHook);
    floorCycle.push(floor.cycle);

    // A commit outside every service folder: HEAD moves, nothing is due.
    await repo.pushChange();
    bases.push(
      new Set(
        [...store.services().values()].map((record) => record.deployedCommit),
      ).size,
    );
    const noopSpawnedBefore = gitClient.spawned;
    const noopStart = wallMs();
    const noop = await agent.runCycle({ trigger: "poll" });
    noopCycles.push(wallMs() - noopStart);
    noopSpawned.push(gitClient.spawned - noopSpawnedBefore);
    if (noop.runs.length > 0) throw new Error("README commit ran a service");
    noopFloors.push(
      (await changedFloor(floorClone, false, repo.allowedSigners)).cycle,
    );
  }
  const toHook = summarize(samples.map((sample) => sample.cycleToHook));
  const fetchToHook = summarize(samples.map((sample) => sample.fetchToHook));
  const cycle = summarize(samples.map((sample) => sample.cycle));
  const floorToHook = summarize(floorCycleToHook).median;
  const floorFetch = summarize(floorFetchToHook).median;
  const floorEnd = summarize(floorCycle).median;
  const merge = repo.allowedSigners ? "merge --verify-signatures" : "merge";
  const label = `fetch+rev-parse+${merge}+diff+sh`;
  rows.push({
    figure: "1 of N changed: cycle start → its first command starts",
    n,
    value: toHook,
    unit: "ms",
    floor: floorToHook,
    floorLabel: label,
    ratio: toHook.median / floorToHook,
  });
  const fetchRatio = fetchToHook.median / floorFetch;
  rows.push({
    figure: "1 of N changed: fetch done → its first command starts",
    n,
    value: fetchToHook,
    unit: "ms",
    floor: floorFetch,
    floorLabel: `rev-parse+${merge}+diff+sh`,
    ratio: fetchRatio,
    target: "≤ 1.5× floor",
    met: fetchRatio <= 1.5,
  });
  rows.push({
    figure: "1 of N changed: cycle start → cycle end",
    n,
    value: cycle,
    unit: "ms",
    floor: floorEnd,
    floorLabel: label,
    ratio: cycle.median / floorEnd,
  });
  const changedSpawned = summarize(samples.map((sample) => sample.spawned));
  rows.push({
    figure: "git processes in a 1-of-N-changed cycle",
    n,
    value: changedSpawned,
    unit: "count",
    floor: 4,
    floorLabel: "fetch+rev-parse+merge+diff",
    ratio: changedSpawned.median / 4,
  });
  const noop = summarize(noopCycles);
  const noopFloor = summarize(noopFloors).median;
  const noopRatio = noop.median / noopFloor;
  rows.push({
    figure: "HEAD moved, nothing due (README commit): cycle",
    n,
    value: noop,
    unit: "ms",
    floor: noopFloor,
    floorLabel: `fetch+rev-parse+${merge}+diff`,
    ratio: noopRatio,
    target: "≤ 1.5× floor",
    met: noopRatio <= 1.5,
  });
  const noopCount = summarize(noopSpawned);
  rows.push({
    figure: `HEAD moved, nothing due: git processes (${Math.min(...bases)}–${
      Math.max(...bases)
    } distinct deployed commits)`,
    n,
    value: noopCount,
    unit: "count",
    floor: 4,
    floorLabel: "fetch+rev-parse+merge+diff",
    ratio: noopCount.median / 4,
    target: "constant",
    met: noopCount.min === noopCount.max,
  });
  for (const row of rows) row.figure += variant;
  context.rows.push(...rows);
  context.notes.push(
    breakdown(medianSample(samples), `1-of-${n}-changed cycle${variant}`),
  );
}

/** The sample with the median time from cycle start to the first command. */
export function medianSample(samples: readonly ChangedSample[]): ChangedSample {
  return samples.toSorted((a, b) => a.cycleToHook - b.cycleToHook)[
    Math.floor(samples.length / 2)
  ];
}

/** Where the time of one changed cycle went: each process, and the JavaScript time between them. */
export function breakdown(sample: ChangedSample, what: string): string {
  const lines = [
    `Breakdown of the median ${what} (ms from cycle start; "JS" = time in the agent between processes):`,
    "",
    "| at | process | took | JS before it |",
    "| ---: | --- | ---: | ---: |",
  ];
  let last = sample.start;
  const merged: { label: string; start: number; end: number; count: number }[] =
    [];
  for (const event of sample.events) {
    const previous = merged.at(-1);
    // Back-to-back processes of one kind (e.g. one diff per deployed commit) are one row.
    if (
      previous && previous.label === event.label && event.label !== "hook" &&
      event.start - previous.end < 0.5
    ) {
      previous.end = event.end;
      previous.count++;
    } else {
      merged.push({ ...event, count: 1 });
    }
  }
  for (const event of merged) {
    const label = event.count > 1
      ? `${event.label} ×${event.count}`
      : event.label;
    lines.push(
      `| ${(event.start - sample.start).toFixed(1)} | ${label} | ${
        (event.end - event.start).toFixed(1)
      } | ${(event.start - last).toFixed(1)} |`,
    );
    last = Math.max(last, event.end);
  }
  lines.push(
    "",
    `The hook's own \`date\` ran at ${
      (sample.hook - sample.start).toFixed(1)
    } ms; the cycle ended at ${sample.cycle.toFixed(1)} ms.`,
  );
  return lines.join("\n") + "\n";
}
