/**
 * A service deployed 20,000 commits ago in a history of 50,000: its changed
 * cycle against the same cycle on a history of 20 commits (deployed 10 ago),
 * both with the same services, in this process.
 */
import { openApp } from "../../src/app/compose.ts";
import { type BenchContext, progress } from "../context.ts";
import { BenchRepo, serviceName } from "../fixture.ts";
import { changedFloor, ensureFloorClone } from "../floors.ts";
import { summarize, type Summary, wallMs } from "../stats.ts";
import { ProcessRecorder } from "../timing_runner.ts";
import {
  breakdown,
  type ChangedSample,
  measureChangedCycle,
  medianSample,
} from "./changed.ts";

/** Services in both histories: enough to be a real repository, few enough that 50,000 root trees import in seconds. */
const SERVICES = 100;
const SHORT = { commits: 20, behind: 10 };

/** Builds both histories, then times `changedReps` changed cycles on each. */
export async function longHistoryScenario(
  context: BenchContext,
): Promise<void> {
  const { settings, rows } = context;
  const long = {
    commits: settings.historyCommits,
    behind: settings.historyBehind,
  };
  const measured = new Map<
    string,
    { samples: ChangedSample[]; floor: number }
  >();
  for (const [name, history] of [["short", SHORT], ["long", long]] as const) {
    const start = wallMs();
    const repo = await BenchRepo.create(context.tmp, {
      services: SERVICES,
      name: `history-${name}`,
      history,
    });
    progress(
      `fixture: ${history.commits} commits, deployed ${history.behind} ago, built in ${
        (wallMs() - start).toFixed(0)
      } ms`,
    );
    measured.set(name, await measureHistory(repo, context));
  }
  const short = measured.get("short")!;
  const longest = measured.get("long")!;
  const describe = (history: { commits: number; behind: number }) =>
    `${history.commits.toLocaleString("en")} commits, deployed ${
      history.behind.toLocaleString("en")
    } ago`;
  const summaryOf = (samples: ChangedSample[], key: keyof ChangedSample) =>
    summarize(samples.map((sample) => sample[key] as number));
  const shortFetch = summaryOf(short.samples, "fetchToHook");
  const longFetch = summaryOf(longest.samples, "fetchToHook");
  const n = String(SERVICES);
  rows.push({
    figure: `short history (${describe(SHORT)}): fetch done → first command`,
    n,
    value: shortFetch,
    unit: "ms",
    floor: short.floor,
    floorLabel: "rev-parse+merge+diff+sh",
    ratio: shortFetch.median / short.floor,
  });
  const ratio = longFetch.median / shortFetch.median;
  rows.push({
    figure: `long history (${describe(long)}): fetch done → first command`,
    n,
    value: longFetch,
    unit: "ms",
    floor: shortFetch.median,
    floorLabel: "short history",
    ratio,
    target: "≤ 2× floor",
    met: ratio <= 2,
  });
  const cycleRow = (label: string, value: Summary, floor: number) =>
    rows.push({
      figure: label,
      n,
      value,
      unit: "ms",
      floor,
      floorLabel: "short history",
      ratio: value.median / floor,
    });
  cycleRow(
    `long history: cycle start → cycle end`,
    summaryOf(longest.samples, "cycle"),
    summaryOf(short.samples, "cycle").median,
  );
  context.notes.push(
    breakdown(
      medianSample(longest.samples),
      `changed cycle on the long history (${describe(long)})`,
    ),
  );
}

async function measureHistory(
  repo: BenchRepo,
  context: BenchContext,
): Promise<{ samples: ChangedSample[]; floor: number }> {
  using timing = new ProcessRecorder();
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  await app.agent.adopt("all");
  // Catches up with the README-only commits since the deployed one: nothing is due.
  const catchUp = await app.agent.runCycle({ trigger: "poll" });
  if (catchUp.runs.length > 0) throw new Error("catching up ran a service");
  const floorClone = await ensureFloorClone(repo);
  const samples: ChangedSample[] = [];
  const floors: number[] = [];
  const reps = Math.min(context.settings.changedReps, SERVICES);
  for (let rep = 0; rep < reps; rep++) {
    const service = serviceName(Math.floor((rep + 0.5) * SERVICES / reps));
    samples.push(await measureChangedCycle(app, repo, timing, service));
    floors.push((await changedFloor(floorClone, true)).fetchToHook);
  }
  return { samples, floor: summarize(floors).median };
}
