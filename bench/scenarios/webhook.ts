/** Push, `POST /webhook` to the daemon, until the changed service's first command starts; against git's floor. */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { freePort } from "../../tests/helpers/http_receiver.ts";
import { type BenchContext, DENO_CONFIG, MAIN } from "../context.ts";
import { DaemonProcess } from "../daemon_process.ts";
import { adoptAll, type BenchRepo, GIT_ENV, serviceName } from "../fixture.ts";
import { changedFloor, ensureFloorClone } from "../floors.ts";
import { primarySize } from "../settings.ts";
import { BURST_GAP_MS } from "../../src/reconcile/daemon.ts";
import { type ResultRow, summarize, wallMs } from "../stats.ts";

const HTTP_DIR = fileURLToPath(new URL("../../src/http", import.meta.url));
const FIGURE = "webhook push → first hook command starts (127.0.0.1)";

/** The webhook latency at the primary size, or "n/a" with the reason. */
export async function webhookScenario(context: BenchContext): Promise<void> {
  const repo = await context.repoOf(primarySize(context.settings));
  const unavailable = (why: string) =>
    context.rows.push({
      figure: FIGURE,
      n: String(repo.services),
      value: `n/a (${why})`,
      unit: "",
    });
  try {
    await Deno.stat(HTTP_DIR);
  } catch {
    unavailable("no HTTP endpoint yet");
    return;
  }
  try {
    context.rows.push(await measureWebhook(repo, context));
  } catch (error) {
    unavailable(error instanceof Error ? error.message : String(error));
  }
}

async function measureWebhook(
  repo: BenchRepo,
  context: BenchContext,
): Promise<ResultRow> {
  const port = freePort();
  const secret = "bench-webhook-secret";
  const configFile = join(repo.root, "webhook.yaml");
  await Deno.writeTextFile(
    configFile,
    `retry_interval: 3600\nwebhook:\n  listen: "127.0.0.1:${port}"\n  secret: "${secret}"\n`,
  );
  await adoptAll(repo);
  await using daemon = DaemonProcess.start({
    main: MAIN,
    denoConfig: DENO_CONFIG,
    args: [
      "--repo",
      repo.clone,
      "--config",
      configFile,
      "--log-level",
      "debug",
      "--no-color",
      "run",
    ],
    env: { ...GIT_ENV, NO_COLOR: "1" },
  });
  await daemon.waitFor(() => daemon.idleCycles >= 1, 120_000);
  const floorClone = await ensureFloorClone(repo);
  await changedFloor(floorClone, false);
  const latencies: number[] = [];
  const floors: number[] = [];
  const reps = Math.max(3, Math.ceil(context.settings.changedReps / 2));
  let lastPost = -Infinity;
  for (let rep = 0; rep < reps; rep++) {
    const service = serviceName(1 + rep);
    const commit = await repo.pushChange(service);
    // Pushes closer together are one burst, whose further cycle waits for a
    // pause on purpose: each measured push stands alone, as one person's does.
    const gap = lastPost + 2 * BURST_GAP_MS - wallMs();
    if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
    const start = wallMs();
    lastPost = start;
    const response = await fetch(`http://127.0.0.1:${port}/webhook`, {
      method: "POST",
      headers: {
        "Authorization": `Bearer ${secret}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ ref: "refs/heads/main", after: commit }),
    });
    await response.body?.cancel();
    if (response.status !== 202) {
      throw new Error(`POST /webhook answered ${response.status}`);
    }
    let stamp: bigint | undefined;
    const deadline = wallMs() + 30_000;
    while ((stamp = await repo.lastHookStart(service)) === undefined) {
      if (wallMs() > deadline) throw new Error("webhook triggered no run");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    latencies.push(Number(stamp / 1000n) / 1000 - start);
    await daemon.waitFor(() => daemon.finishedRuns.includes(service), 30_000);
    floors.push((await changedFloor(floorClone, true)).cycleToHook);
  }
  await daemon.stop();
  const latency = summarize(latencies);
  const floor = summarize(floors).median;
  const ratio = latency.median / floor;
  return {
    figure: FIGURE,
    n: String(repo.services),
    value: latency,
    unit: "ms",
    floor,
    floorLabel: "fetch+rev-parse+merge+diff+sh",
    ratio,
    target: "≤ 1.5× floor",
    met: ratio <= 1.5,
  };
}
