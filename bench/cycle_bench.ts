/**
 * `deno task bench`: the cost of the agent's cycles against the floor of git
 * itself, the read-only CLI's wall time, the daemon's memory and its state
 * database writes (issue 6). Builds its fixtures in a temp dir and removes
 * them at the end; prints a markdown table on stdout, progress on stderr.
 *
 *   deno task bench                 # full run (N = 10, 100, 1000), a few minutes
 *   deno task bench --quick         # N = 10, 100, fewer repetitions, under a minute
 *   deno task bench --only idle,changed --reps 15 --keep
 */
import { V8_FLAGS } from "../scripts/permissions.ts";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openApp } from "../src/app.ts";
import { BenchRepo, git, GIT_ENV, serviceName } from "./fixture.ts";
import { DaemonProcess } from "./daemon_process.ts";
import { renderTable, type ResultRow, summarize, wallMs } from "./stats.ts";
import { type ProcessEvent, ProcessRecorder } from "./timing_runner.ts";
import { dbFingerprint, sameFingerprint, seedRuns } from "./state_db.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const HTTP_DIR = fileURLToPath(new URL("../src/http", import.meta.url));
const STATE_FILE = ".upstream-watch.sqlite";
const SCENARIOS = ["idle", "changed", "cli", "daemon", "webhook"] as const;
type Scenario = typeof SCENARIOS[number];

interface BenchSettings {
  sizes: number[];
  /** Repetitions of each in-process or CLI measurement. */
  reps: number;
  /** Repetitions of the changed-service cycle (each is a commit and a real hook run). */
  changedReps: number;
  /** Runs recorded in the state DB for the CLI figures. */
  runs: number;
  /** Idle cycles of the daemon between the first and the last RSS sample. */
  daemonCycles: number;
  floodBytes: number;
  scenarios: Set<Scenario>;
  keep: boolean;
  /** Extra `deno run` flags for the daemon subprocess (memory experiments). */
  daemonFlags: string[];
}

function settingsFrom(args: string[]): BenchSettings {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      sizes: { type: "string" },
      reps: { type: "string" },
      keep: { type: "boolean", default: false },
      "daemon-flags": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    write(
      `usage: deno task bench [--quick] [--only ${
        SCENARIOS.join(",")
      }] [--sizes 10,100,1000] [--reps N] [--keep] [--daemon-flags=--v8-flags=…]\n`,
    );
    Deno.exit(0);
  }
  const quick = values.quick;
  const scenarios = new Set<Scenario>(
    values.only === undefined ? SCENARIOS : values.only.split(",").map(
      (name) => {
        if (!(SCENARIOS as readonly string[]).includes(name)) {
          throw new Error(`Cannot run scenario "${name}": unknown`);
        }
        return name as Scenario;
      },
    ),
  );
  const sizes = values.sizes?.split(",").map(Number) ??
    (quick ? [10, 100] : [10, 100, 1000]);
  if (sizes.some((size) => !Number.isInteger(size) || size < 2)) {
    throw new Error(`Cannot use sizes "${values.sizes}": need integers ≥ 2`);
  }
  const reps = values.reps === undefined
    ? (quick ? 7 : 25)
    : Number(values.reps);
  return {
    sizes,
    reps,
    changedReps: quick ? 5 : 11,
    runs: quick ? 10_000 : 100_000,
    daemonCycles: quick ? 100 : 1000,
    floodBytes: quick ? 5 * 2 ** 20 : 50 * 2 ** 20,
    scenarios,
    keep: values.keep,
    // By default the daemon runs as `deno task start` and the binaries do.
    daemonFlags: values["daemon-flags"]?.split(" ").filter(Boolean) ??
      [V8_FLAGS],
  };
}

const encoder = new TextEncoder();
function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}
function progress(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`· ${text}\n`));
}

/** The floor's fetch: the same refspec the agent fetches, by a plain git process. */
async function floorFetch(clone: string): Promise<void> {
  await git(clone, [
    "fetch",
    "--quiet",
    "--no-tags",
    "--no-write-fetch-head",
    "origin",
    "+refs/heads/main:refs/remotes/origin/main",
  ]);
}

/** `git fetch` + `git rev-parse` + `git diff --name-only` back to back: what an idle cycle cannot go below. */
async function idleFloor(clone: string): Promise<number> {
  const start = wallMs();
  await floorFetch(clone);
  await git(clone, ["rev-parse", "HEAD", "refs/remotes/origin/main"]);
  await git(clone, [
    "diff",
    "--name-only",
    "-z",
    "HEAD",
    "refs/remotes/origin/main",
    "--",
  ]);
  return wallMs() - start;
}

// ---------------------------------------------------------------- idle

async function idleScenario(
  repo: BenchRepo,
  settings: BenchSettings,
  rows: ResultRow[],
): Promise<void> {
  const n = String(repo.services);
  const statePath = join(repo.clone, STATE_FILE);
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  await app.agent.adopt("all");
  await app.agent.runCycle({ trigger: "poll" }); // the first cycle: caches fill
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
  const versionChanged = version.changed();
  version.close();
  const cycle = summarize(cycles);
  const floor = summarize(floors);
  const count = summarize(spawned);
  const ratio = cycle.median / floor.median;
  rows.push({
    figure: "idle cycle (daemon mode, in-process, after the first)",
    n,
    value: cycle,
    unit: "ms",
    floor: floor.median,
    floorLabel: "fetch+rev-parse+diff",
    ratio,
    target: repo.services >= 1000 ? "≤ 1.5× floor" : undefined,
    met: repo.services >= 1000 ? ratio <= 1.5 : undefined,
  });
  rows.push({
    figure: "git processes per idle cycle (GitClient.spawned)",
    n,
    value: count,
    unit: "count",
    floor: 3,
    floorLabel: "fetch+rev-parse+diff",
    ratio: count.max / 3,
    target: "≤ 3",
    met: count.max <= 3,
  });
  const untouched = sameFingerprint(before, after) && !versionChanged;
  rows.push({
    figure: `state DB writes during ${settings.reps} in-process idle cycles`,
    n,
    value: untouched
      ? "0 (sqlite+wal bytes identical, data_version unchanged)"
      : `CHANGED (${describeChange(before, after, versionChanged)})`,
    unit: "",
    target: "0",
    met: untouched,
  });
}

/** Watches `PRAGMA data_version` from a second connection: it changes when anyone else commits. */
function dataVersionProbe(file: string) {
  const db = new DatabaseSync(file, { readOnly: true });
  const read = () =>
    Number(
      (db.prepare("PRAGMA data_version").get() as { data_version: number })
        .data_version,
    );
  const first = read();
  return {
    changed: () => read() !== first,
    close: () => db.close(),
  };
}

function describeChange(
  before: Awaited<ReturnType<typeof dbFingerprint>>,
  after: Awaited<ReturnType<typeof dbFingerprint>>,
  versionChanged: boolean,
): string {
  const parts: string[] = [];
  for (const [name, was] of Object.entries(before)) {
    const now = after[name];
    if (JSON.stringify(was) !== JSON.stringify(now)) {
      parts.push(`${name}: ${was?.size ?? "-"} → ${now?.size ?? "-"} bytes`);
    }
  }
  if (versionChanged) parts.push("data_version moved");
  return parts.join(", ");
}

// ---------------------------------------------------------------- changed

interface ChangedSample {
  cycleToHook: number;
  fetchToHook: number;
  cycle: number;
  spawned: number;
  events: ProcessEvent[];
  start: number;
  hook: number;
}

async function changedScenario(
  repo: BenchRepo,
  settings: BenchSettings,
  rows: ResultRow[],
  notes: string[],
): Promise<void> {
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
    await repo.pushChange(service);
    timing.reset();
    const spawnedBefore = gitClient.spawned;
    const start = wallMs();
    const result = await agent.runCycle({ trigger: "poll" });
    const end = wallMs();
    if (
      result.runs.length !== 1 || result.runs[0].service !== service ||
      result.runs[0].outcome !== "succeeded"
    ) {
      throw new Error(
        `changed cycle ran ${
          JSON.stringify(result.runs)
        } instead of ${service}`,
      );
    }
    const hookNs = await repo.lastHookStart(service);
    const fetch = timing.first("git fetch");
    if (hookNs === undefined || fetch === undefined) {
      throw new Error("changed cycle: no hook stamp or no fetch recorded");
    }
    const hook = Number(hookNs / 1000n) / 1000;
    samples.push({
      cycleToHook: hook - start,
      fetchToHook: hook - fetch.end,
      cycle: end - start,
      spawned: gitClient.spawned - spawnedBefore,
      events: [...timing.events].sort((a, b) => a.start - b.start),
      start,
      hook,
    });
    const floor = await changedFloor(floorClone, true);
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
    noopFloors.push((await changedFloor(floorClone, false)).cycle);
  }
  const toHook = summarize(samples.map((sample) => sample.cycleToHook));
  const fetchToHook = summarize(samples.map((sample) => sample.fetchToHook));
  const cycle = summarize(samples.map((sample) => sample.cycle));
  const floorToHook = summarize(floorCycleToHook).median;
  const floorFetch = summarize(floorFetchToHook).median;
  const floorEnd = summarize(floorCycle).median;
  const label = "fetch+rev-parse+merge+diff+sh";
  rows.push({
    figure: "1 of N changed: cycle start → its first command starts",
    n,
    value: toHook,
    unit: "ms",
    floor: floorToHook,
    floorLabel: label,
    ratio: toHook.median / floorToHook,
  });
  rows.push({
    figure: "1 of N changed: fetch done → its first command starts",
    n,
    value: fetchToHook,
    unit: "ms",
    floor: floorFetch,
    floorLabel: "rev-parse+merge+diff+sh",
    ratio: fetchToHook.median / floorFetch,
    target: "≤ 100 ms",
    met: fetchToHook.median <= 100,
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
  });
  const noop = summarize(noopCycles);
  const noopFloor = summarize(noopFloors).median;
  rows.push({
    figure: "HEAD moved, nothing due (README commit): cycle",
    n,
    value: noop,
    unit: "ms",
    floor: noopFloor,
    floorLabel: "fetch+rev-parse+merge+diff",
    ratio: noop.median / noopFloor,
  });
  const noopCount = summarize(noopSpawned);
  rows.push({
    figure: `HEAD moved, nothing due: git processes (${Math.min(...bases)}–${
      Math.max(...bases)
    } distinct deployed commits)`,
    n,
    value: noopCount,
    unit: "count",
    target: "constant (SPEC §4.5)",
    met: noopCount.min === noopCount.max,
  });
  const median = samples.toSorted((a, b) => a.cycleToHook - b.cycleToHook)[
    Math.floor(samples.length / 2)
  ];
  notes.push(breakdown(median, n));
}

/** A second clone of the upstream on which the bench does by hand what a cycle must do. */
async function ensureFloorClone(repo: BenchRepo): Promise<string> {
  const clone = join(repo.root, "floor");
  try {
    await Deno.stat(clone);
  } catch {
    await git(repo.root, ["clone", "--quiet", repo.upstream, clone]);
  }
  return clone;
}

/** What git itself needs for a changed cycle, in a second clone: fetch, rev-parse, ff-merge, diff, then `sh -c date`. */
async function changedFloor(
  clone: string,
  withHook: boolean,
): Promise<{ cycleToHook: number; fetchToHook: number; cycle: number }> {
  const start = wallMs();
  await floorFetch(clone);
  const fetched = wallMs();
  const [before, after] = (await git(clone, [
    "rev-parse",
    "HEAD",
    "refs/remotes/origin/main",
  ])).split("\n");
  await git(clone, ["merge", "--ff-only", "--quiet", "--no-stat", after]);
  await git(clone, ["diff", "--name-only", "-z", before, after, "--"]);
  let hook = wallMs();
  if (withHook) {
    const output = await new Deno.Command("/bin/sh", {
      args: ["-c", "date +%s%N"],
      stdout: "piped",
      stderr: "null",
    }).output();
    hook =
      Number(BigInt(new TextDecoder().decode(output.stdout).trim()) / 1000n) /
      1000;
  }
  const end = wallMs();
  return {
    cycleToHook: hook - start,
    fetchToHook: hook - fetched,
    cycle: end - start,
  };
}

/** Where the time of one changed cycle went: each process, and the JavaScript time between them. */
function breakdown(sample: ChangedSample, n: string): string {
  const lines = [
    `Breakdown of the median 1-of-${n}-changed cycle (ms from cycle start; "JS" = time in the agent between processes):`,
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

// ---------------------------------------------------------------- cli

async function timeCli(args: readonly string[]): Promise<{
  ms: number;
  stdout: string;
}> {
  const start = wallMs();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", DENO_CONFIG, MAIN, ...args],
    env: { ...GIT_ENV, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = wallMs() - start;
  const decoder = new TextDecoder();
  if (!result.success) {
    throw new Error(
      `upstream-watch ${args.join(" ")} exited ${result.code}: ${
        decoder.decode(result.stderr)
      }`,
    );
  }
  return { ms, stdout: decoder.decode(result.stdout) };
}

/** Creates the state (schema and every service adopted at HEAD) unless it exists. */
async function adoptAll(repo: BenchRepo): Promise<void> {
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  if (app.store.services().size === 0) await app.agent.adopt("all");
}

async function cliScenario(
  repo: BenchRepo,
  settings: BenchSettings,
  rows: ResultRow[],
): Promise<void> {
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
  const statusSummary = summarize(times.status);
  const label = "`main.ts version`";
  const runs = `${settings.runs.toLocaleString("en")} runs`;
  rows.push({
    figure: `\`status --json\` wall time (whole process, ${runs})`,
    n,
    value: statusSummary,
    unit: "ms",
    floor,
    floorLabel: label,
    ratio: statusSummary.median / floor,
    target: "< 250 ms",
    met: statusSummary.median < 250,
  });
  const historySummary = summarize(times.history);
  rows.push({
    figure: `\`history --limit 20\` wall time (whole process, ${runs})`,
    n,
    value: historySummary,
    unit: "ms",
    floor,
    floorLabel: label,
    ratio: historySummary.median / floor,
  });
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

// ---------------------------------------------------------------- daemon

async function daemonScenario(
  repo: BenchRepo,
  settings: BenchSettings,
  rows: ResultRow[],
): Promise<void> {
  const n = String(repo.services);
  const statePath = join(repo.clone, STATE_FILE);
  await adoptAll(repo);
  await using daemon = DaemonProcess.start({
    main: MAIN,
    denoConfig: DENO_CONFIG,
    denoFlags: settings.daemonFlags,
    args: [
      "--repo",
      repo.clone,
      "--log-level",
      "debug",
      "--no-color",
      "run",
      "--interval",
      "0.01",
    ],
    env: { ...GIT_ENV, NO_COLOR: "1" },
  });
  const firstSample = 10;
  const samplesAt = [firstSample, 100, 500, settings.daemonCycles].filter((
    at,
    index,
    all,
  ) => at <= settings.daemonCycles && all.indexOf(at) === index);
  const rss = new Map<number, number>();
  let before: Awaited<ReturnType<typeof dbFingerprint>> | undefined;
  let version: ReturnType<typeof dataVersionProbe> | undefined;
  let startedAt = 0;
  for (const at of samplesAt) {
    await daemon.waitFor(() => daemon.idleCycles >= at, 600_000);
    rss.set(at, daemon.rssMb());
    if (at === firstSample) {
      startedAt = wallMs();
      before = await dbFingerprint(statePath);
      version = dataVersionProbe(statePath);
    }
    progress(`daemon: ${at} idle cycles, RSS ${rss.get(at)!.toFixed(1)} MB`);
  }
  const cyclesMeasured = daemon.idleCycles - firstSample;
  const period = (wallMs() - startedAt) / cyclesMeasured;
  const after = await dbFingerprint(statePath);
  const versionChanged = version!.changed();
  version!.close();
  const first = rss.get(firstSample)!;
  const last = rss.get(settings.daemonCycles)!;
  rows.push({
    figure: `daemon RSS after ${firstSample} idle cycles (subprocess)`,
    n,
    value: first,
    unit: "MB",
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
      floorLabel: `after ${firstSample}`,
      ratio: value / first,
      target: isLast ? "flat (≤ +5 MB)" : undefined,
      met: isLast ? last - first <= 5 : undefined,
    });
  }
  rows.push({
    figure:
      `daemon idle cycle period with \`--interval 0.01\` (mean of ${cyclesMeasured}; includes the 10 ms sleep)`,
    n,
    value: period,
    unit: "ms",
  });
  const untouched = sameFingerprint(before!, after) && !versionChanged;
  rows.push({
    figure: `state DB writes during ${cyclesMeasured} daemon idle cycles`,
    n,
    value: untouched
      ? "0 (sqlite+wal bytes identical, data_version unchanged)"
      : `CHANGED (${describeChange(before!, after, versionChanged)})`,
    unit: "",
    target: "0",
    met: untouched,
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
  rows.push({
    figure:
      `daemon RSS while a hook writes ${floodMb} (peak of 10 ms samples; VmHWM ${
        hwm.toFixed(1)
      } MB)`,
    n,
    value: peak,
    unit: "MB",
    floor: idleRss,
    floorLabel: "idle",
    ratio: peak / idleRss,
    target: "< 100 MB",
    met: peak < 100 && hwm < 100,
  });
  rows.push({
    figure: `daemon log lines written for the ${floodMb} hook output`,
    n,
    value: daemon.hookLines,
    unit: "count",
  });
  await daemon.stop();
}

// ---------------------------------------------------------------- webhook

async function webhookScenario(
  repo: BenchRepo,
  settings: BenchSettings,
  rows: ResultRow[],
): Promise<void> {
  const figure = "webhook push → first hook command starts (127.0.0.1)";
  try {
    await Deno.stat(HTTP_DIR);
  } catch {
    rows.push({
      figure,
      n: String(repo.services),
      value: "n/a (no HTTP endpoint yet)",
      unit: "",
    });
    return;
  }
  try {
    rows.push(await measureWebhook(repo, settings, figure));
  } catch (error) {
    rows.push({
      figure,
      n: String(repo.services),
      value: `n/a (${error instanceof Error ? error.message : error})`,
      unit: "",
    });
  }
}

async function measureWebhook(
  repo: BenchRepo,
  settings: BenchSettings,
  figure: string,
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
  const reps = Math.max(3, Math.ceil(settings.changedReps / 2));
  for (let rep = 0; rep < reps; rep++) {
    const service = serviceName(1 + rep);
    const commit = await repo.pushChange(service);
    const start = wallMs();
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
  return {
    figure,
    n: String(repo.services),
    value: latency,
    unit: "ms",
    floor,
    floorLabel: "fetch+rev-parse+merge+diff+sh",
    ratio: latency.median / floor,
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

// ---------------------------------------------------------------- main

async function main(args: string[]): Promise<void> {
  const settings = settingsFrom(args);
  for (const [name, value] of Object.entries(GIT_ENV)) {
    Deno.env.set(name, value);
  }
  const tmp = await Deno.makeTempDir({ prefix: "upstream-watch-bench-" });
  const rows: ResultRow[] = [];
  const notes: string[] = [];
  const began = wallMs();
  try {
    const largest = Math.max(...settings.sizes);
    const repos = new Map<number, BenchRepo>();
    const repoOf = async (size: number) => {
      let repo = repos.get(size);
      if (!repo) {
        const start = wallMs();
        repo = await BenchRepo.create(tmp, {
          services: size,
          flood: size === largest
            ? { service: serviceName(size - 1), bytes: settings.floodBytes }
            : undefined,
        });
        repos.set(size, repo);
        progress(
          `fixture N=${size} built in ${(wallMs() - start).toFixed(0)} ms`,
        );
      }
      return repo;
    };
    const has = (scenario: Scenario) => settings.scenarios.has(scenario);
    if (has("idle")) {
      for (const size of settings.sizes) {
        progress(`idle cycles, N=${size}`);
        await idleScenario(await repoOf(size), settings, rows);
      }
    }
    if (has("changed")) {
      progress(`changed cycles, N=${largest}`);
      await changedScenario(await repoOf(largest), settings, rows, notes);
    }
    if (has("webhook")) {
      progress(`webhook, N=${largest}`);
      await webhookScenario(await repoOf(largest), settings, rows);
    }
    if (has("cli")) {
      progress(`status/history, N=${largest}`);
      await cliScenario(await repoOf(largest), settings, rows);
    }
    if (has("daemon")) {
      progress(`daemon RSS and DB writes, N=${largest}`);
      await daemonScenario(await repoOf(largest), settings, rows);
    }
  } finally {
    if (settings.keep) {
      progress(`fixtures kept in ${tmp}`);
    } else {
      await Deno.remove(tmp, { recursive: true });
    }
  }
  write(await header(args, (wallMs() - began) / 1000));
  write(renderTable(rows));
  for (const note of notes) write(`\n${note}`);
  const missed = rows.filter((row) => row.met === false);
  write(
    `\nTargets: ${
      rows.filter((row) => row.met === true).length
    } met, ${missed.length} missed${
      missed.length > 0
        ? ` (${missed.map((row) => `${row.figure} N=${row.n}`).join("; ")})`
        : ""
    }.\n`,
  );
}

async function header(args: string[], seconds: number): Promise<string> {
  const gitVersion = await git(Deno.cwd(), ["--version"]);
  const cpus = navigator.hardwareConcurrency;
  return [
    `## upstream-watch cycle benchmark`,
    "",
    `\`deno task bench${args.length ? ` ${args.join(" ")}` : ""}\` — ${
      new Date().toISOString()
    }, deno ${Deno.version.deno}, ${gitVersion}, ${Deno.build.os}/${Deno.build.arch}, ${cpus} CPUs, took ${
      seconds.toFixed(0)
    } s. Each figure: median of the runs shown; "floor" is measured in the same run.`,
    "",
    "",
  ].join("\n");
}

if (import.meta.main) {
  await main(Deno.args);
}
