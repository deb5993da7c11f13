/** `main.ts version` as a whole process against `deno run` of a file that imports nothing. */
import type { BenchContext } from "../context.ts";
import { EMPTY_FILE, timeCli, timeDenoRun } from "../deno_process.ts";
import { summarize } from "../stats.ts";

/** Times both, interleaved, after one warm-up each. */
export async function startupScenario(context: BenchContext): Promise<void> {
  await timeDenoRun(EMPTY_FILE);
  await timeCli(["version"]);
  const empty: number[] = [];
  const version: number[] = [];
  const reps = Math.max(5, Math.ceil(context.settings.reps / 2));
  for (let rep = 0; rep < reps; rep++) {
    empty.push((await timeDenoRun(EMPTY_FILE)).ms);
    version.push((await timeCli(["version"])).ms);
  }
  const floor = summarize(empty).median;
  const summary = summarize(version);
  const ratio = summary.median / floor;
  context.rows.push({
    figure: "`version` wall time (whole process)",
    n: "",
    value: summary,
    unit: "ms",
    floor,
    floorLabel: "`deno run` of an empty file",
    ratio,
    target: "≤ 1.2× floor",
    met: ratio <= 1.2,
  });
}
