/** `status --json` and `history --limit 20` over 100,000 recorded runs, as whole processes, against `main.ts version`. */
import { join } from "node:path";
import { type BenchContext, progress, STATE_FILE } from "../context.ts";
import { timeCli } from "../deno_process.ts";
import { adoptAll } from "../fixture.ts";
import { primarySize } from "../settings.ts";
import { summarize, wallMs } from "../stats.ts";
import { dbFingerprint, seedRuns } from "../state_db.ts";

/** Seeds the runs, then times the three commands interleaved. */
export async function cliScenario(context: BenchContext): Promise<void> {
  const { settings, rows } = context;
  const repo = await context.repoOf(primarySize(settings));
  const n = String(repo.services);
  const statePath = join(repo.clone, STATE_FILE);
  // The store creates the schema (and adopts every service) before the runs are seeded.
  await adoptAll(repo);
  const seedStart = wallMs();
  const seeded = seedRuns(statePath, settings.runs);
  progress(
    `seeded ${seeded} runs in ${((wallMs() - seedStart) / 1000).toFixed(1)} s`,
  );
  const status = ["--repo", repo.clone, "status", "--json"];
  const history = ["--repo", repo.clone, "history", "--limit", "20"];
  const version = ["version"];
  // Warm-up: module cache, page cache.
  const check = JSON.parse((await timeCli(status)).stdout) as {
    services: unknown[];
  };
  if (check.services.length !== repo.services) {
    throw new Error(`status --json listed ${check.services.length} services`);
  }
  await timeCli(history);
  await timeCli(version);
  const times: Record<"status" | "history" | "version", number[]> = {
    status: [],
    history: [],
    version: [],
  };
  const reps = Math.max(5, Math.ceil(settings.reps / 2));
  for (let rep = 0; rep < reps; rep++) {
    times.version.push((await timeCli(version)).ms);
    times.status.push((await timeCli(status)).ms);
    times.history.push((await timeCli(history)).ms);
  }
  const floor = summarize(times.version).median;
  const label = "`main.ts version`";
  const runs = `${settings.runs.toLocaleString("en")} runs`;
  for (
    const [command, values] of [
      ["`status --json`", times.status],
      ["`history --limit 20`", times.history],
    ] as const
  ) {
    const summary = summarize(values);
    const ratio = summary.median / floor;
    rows.push({
      figure: `${command} wall time (whole process, ${runs})`,
      n,
      value: summary,
      unit: "ms",
      floor,
      floorLabel: label,
      ratio,
      target: "≤ 1.3× floor",
      met: ratio <= 1.3,
    });
  }
  const sizes = await dbFingerprint(statePath);
  const bytes = Object.values(sizes).reduce(
    (sum, file) => sum + (file?.size ?? 0),
    0,
  );
  rows.push({
    figure: `state DB size (sqlite + wal, ${runs} with 1 command each)`,
    n,
    value: bytes / 2 ** 20,
    unit: "MB",
  });
}
