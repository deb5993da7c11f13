/** A daemon polling every millisecond for 10,000 idle cycles: does its RSS stay flat? */
import { type BenchContext, progress } from "../context.ts";
import { adoptAll } from "../fixture.ts";
import { primarySize } from "../settings.ts";
import { wallMs } from "../stats.ts";
import { FIRST_SAMPLE, samplePoints, startDaemon } from "./daemon.ts";

/** Stops waiting for more cycles after this long, so the soak ends within 10 minutes. */
const BUDGET_MS = 9 * 60_000;

/** RSS at 10, 100, 1,000 and the last idle cycle, at the primary size. */
export async function soakScenario(context: BenchContext): Promise<void> {
  const { settings, rows } = context;
  const repo = await context.repoOf(primarySize(settings));
  const n = String(repo.services);
  const floors = await context.rssFloors();
  await adoptAll(repo);
  const began = wallMs();
  await using daemon = startDaemon(repo, context, 0.01);
  const rss = new Map<number, number>();
  let reached = 0;
  for (const at of samplePoints(settings.soakCycles)) {
    const left = BUDGET_MS - (wallMs() - began);
    try {
      await daemon.waitFor(() => daemon.idleCycles >= at, Math.max(0, left));
    } catch (error) {
      if (wallMs() - began < BUDGET_MS) throw error;
      progress(`soak: out of time after ${daemon.idleCycles} idle cycles`);
      reached = daemon.idleCycles;
      rss.set(reached, daemon.rssMb());
      break;
    }
    reached = at;
    rss.set(at, daemon.rssMb());
    progress(`soak: ${at} idle cycles, RSS ${rss.get(at)!.toFixed(1)} MB`);
  }
  const seconds = (wallMs() - began) / 1000;
  await daemon.stop();
  const first = rss.get(FIRST_SAMPLE)!;
  for (const [at, value] of rss) {
    if (at === FIRST_SAMPLE) continue;
    const isLast = at === reached;
    rows.push({
      figure: `soak: daemon RSS after ${at} idle cycles (\`--interval 0.01\`)`,
      n,
      value,
      unit: "MB",
      floor: first,
      floorLabel: `after ${FIRST_SAMPLE}`,
      ratio: value / first,
      target: isLast ? `flat (≤ +3 MB) at ${settings.soakCycles}` : undefined,
      met: isLast
        ? reached >= settings.soakCycles && value - first <= 3
        : undefined,
    });
  }
  const last = rss.get(reached)!;
  rows.push({
    figure: `soak: daemon RSS after ${reached} idle cycles`,
    n,
    value: last,
    unit: "MB",
    floor: floors.dependencies,
    floorLabel: "dependency floor",
    ratio: last / floors.dependencies,
    target: "≤ 1.2× floor",
    met: last / floors.dependencies <= 1.2,
  });
  rows.push({
    figure: `soak: wall time for ${reached} idle cycles (start included)`,
    n,
    value: seconds,
    unit: "s",
    target: "< 600 s",
    met: seconds < 600 && reached >= settings.soakCycles,
  });
}
