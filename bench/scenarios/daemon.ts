/** The daemon as a subprocess: RSS over idle cycles and while a hook floods output, and that idle cycles write nothing. */
import { join } from "node:path";
import {
  type BenchContext,
  DENO_CONFIG,
  MAIN,
  progress,
  STATE_FILE,
} from "../context.ts";
import { DaemonProcess } from "../daemon_process.ts";
import { adoptAll, type BenchRepo, GIT_ENV, serviceName } from "../fixture.ts";
import { primarySize } from "../settings.ts";
import { wallMs } from "../stats.ts";
import {
  dataVersionProbe,
  dbFingerprint,
  describeWrites,
} from "../state_db.ts";

/** The idle cycle after which the first RSS sample is taken. */
export const FIRST_SAMPLE = 10;

/** Starts `main.ts run --interval <seconds>` with the debug log the bench follows. */
export function startDaemon(
  repo: BenchRepo,
  context: BenchContext,
  intervalSeconds: number,
): DaemonProcess {
  return DaemonProcess.start({
    main: MAIN,
    denoConfig: DENO_CONFIG,
    denoFlags: context.settings.daemonFlags,
    args: [
      "--repo",
      repo.clone,
      "--log-level",
      "debug",
      "--no-color",
      "run",
      "--interval",
      String(intervalSeconds),
    ],
    env: { ...GIT_ENV, NO_COLOR: "1" },
  });
}

/** The sample points from {@link FIRST_SAMPLE} to `last` idle cycles. */
export function samplePoints(last: number): number[] {
  return [FIRST_SAMPLE, 100, 1000, last].filter((at, index, all) =>
    at <= last && all.indexOf(at) === index
  );
}

/** Idle RSS, DB writes, then the flood, at the primary size. */
export async function daemonScenario(context: BenchContext): Promise<void> {
  const { settings, rows } = context;
  const repo = await context.repoOf(primarySize(settings));
  const n = String(repo.services);
  const statePath = join(repo.clone, STATE_FILE);
  const floors = await context.rssFloors();
  await adoptAll(repo);
  await using daemon = startDaemon(repo, context, 0.01);
  const samplesAt = samplePoints(settings.daemonCycles);
  const rss = new Map<number, number>();
  let before: Awaited<ReturnType<typeof dbFingerprint>> | undefined;
  let version: ReturnType<typeof dataVersionProbe> | undefined;
  let startedAt = 0;
  for (const at of samplesAt) {
    await daemon.waitFor(() => daemon.idleCycles >= at, 600_000);
    rss.set(at, daemon.rssMb());
    if (at === FIRST_SAMPLE) {
      startedAt = wallMs();
      before = await dbFingerprint(statePath);
      version = dataVersionProbe(statePath);
    }
    progress(`daemon: ${at} idle cycles, RSS ${rss.get(at)!.toFixed(1)} MB`);
  }
  const cyclesMeasured = daemon.idleCycles - FIRST_SAMPLE;
  const period = (wallMs() - startedAt) / cyclesMeasured;
  const after = await dbFingerprint(statePath);
  const writes = describeWrites(before!, after, version!.changed());
  version!.close();
  const first = rss.get(FIRST_SAMPLE)!;
  const last = rss.get(settings.daemonCycles)!;
  rows.push({
    figure: `daemon RSS after ${FIRST_SAMPLE} idle cycles (subprocess)`,
    n,
    value: first,
    unit: "MB",
    floor: floors.dependencies,
    floorLabel: "dependency floor",
    ratio: first / floors.dependencies,
  });
  for (const at of samplesAt.slice(1)) {
    const value = rss.get(at)!;
    const isLast = at === settings.daemonCycles;
    rows.push({
      figure: `daemon RSS after ${at} idle cycles`,
      n,
      value,
      unit: "MB",
      floor: first,
      floorLabel: `after ${FIRST_SAMPLE}`,
      ratio: value / first,
      target: isLast ? "flat (≤ +3 MB)" : undefined,
      met: isLast ? last - first <= 3 : undefined,
    });
  }
  const idleRatio = last / floors.dependencies;
  rows.push({
    figure: `daemon RSS idle (after ${settings.daemonCycles} cycles)`,
    n,
    value: last,
    unit: "MB",
    floor: floors.dependencies,
    floorLabel: "dependency floor",
    ratio: idleRatio,
    target: "≤ 1.2× floor",
    met: idleRatio <= 1.2,
  });
  rows.push({
    figure:
      `daemon idle cycle period with \`--interval 0.01\` (mean of ${cyclesMeasured}; includes the 10 ms sleep)`,
    n,
    value: period,
    unit: "ms",
  });
  rows.push({
    figure: `state DB writes during ${cyclesMeasured} daemon idle cycles`,
    n,
    value: writes.text,
    unit: "",
    target: "0",
    met: writes.untouched,
  });

  // A hook that floods its output: the daemon must keep only a tail.
  const flood = serviceName(repo.services - 1);
  const cyclesBefore = daemon.idleCycles;
  const idleRss = daemon.rssMb();
  await repo.pushChange(flood);
  let peak = idleRss;
  const finished = daemon.waitFor(
    () =>
      daemon.finishedRuns.includes(flood) && daemon.idleCycles > cyclesBefore,
    600_000,
  );
  let done = false;
  finished.then(() => done = true, () => done = true);
  while (!done) {
    peak = Math.max(peak, daemon.rssMb());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await finished;
  const hwm = daemon.hwmMb();
  const floodMb = `${(settings.floodBytes / 2 ** 20).toFixed(0)} MB`;
  const floodRatio = Math.max(peak, hwm) / floors.dependencies;
  rows.push({
    figure:
      `daemon RSS while a hook writes ${floodMb} (peak of 10 ms samples; VmHWM ${
        hwm.toFixed(1)
      } MB; idle before ${idleRss.toFixed(1)} MB)`,
    n,
    value: peak,
    unit: "MB",
    floor: floors.dependencies,
    floorLabel: "dependency floor",
    ratio: floodRatio,
    target: "≤ 1.5× floor (peak and VmHWM)",
    met: floodRatio <= 1.5,
  });
  rows.push({
    figure: `daemon log lines written for the ${floodMb} hook output`,
    n,
    value: daemon.hookLines,
    unit: "count",
  });
  await daemon.stop();
}
