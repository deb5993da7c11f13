/**
 * `deno task bench`: the cost of the agent's cycles against the floor of git
 * itself, the CLI's wall time against Deno's, the daemon's memory against
 * its dependencies' and its state database writes. Builds its fixtures in a
 * temp dir and removes them at the end; prints a markdown table on stdout,
 * progress on stderr. Each scenario is a file in `scenarios/`.
 *
 *   deno task bench                 # every scenario, N = 10, 100, 1000, 10000
 *   deno task bench --quick         # N = 10, 100, fewer repetitions
 *   deno task bench --only idle,changed --reps 15 --keep
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchContext,
  progress,
  type RssFloors,
  write,
} from "./context.ts";
import { DEPENDENCIES_FILE, IDLE_FILE, idleRssMb } from "./deno_process.ts";
import { BenchRepo, git, GIT_ENV, serviceName } from "./fixture.ts";
import {
  type BenchSettings,
  primarySize,
  type ScenarioName,
  settingsFrom,
  USAGE,
} from "./settings.ts";
import { renderTable, type ResultRow, wallMs } from "./stats.ts";
import { changedScenario } from "./scenarios/changed.ts";
import { cliScenario } from "./scenarios/cli.ts";
import { daemonScenario } from "./scenarios/daemon.ts";
import { idleScenario } from "./scenarios/idle.ts";
import { longHistoryScenario } from "./scenarios/long_history.ts";
import { soakScenario } from "./scenarios/soak.ts";
import { startupScenario } from "./scenarios/startup.ts";
import { webhookScenario } from "./scenarios/webhook.ts";

const SCENARIO_RUNS: Record<
  ScenarioName,
  (context: BenchContext) => Promise<void>
> = {
  idle: idleScenario,
  changed: changedScenario,
  webhook: webhookScenario,
  cli: cliScenario,
  startup: startupScenario,
  daemon: daemonScenario,
  soak: soakScenario,
  history: longHistoryScenario,
};

function contextFor(
  settings: BenchSettings,
  tmp: string,
  rows: ResultRow[],
): BenchContext {
  const repos = new Map<number, Promise<BenchRepo>>();
  let floors: Promise<RssFloors> | undefined;
  const primary = primarySize(settings);
  return {
    settings,
    tmp,
    rows,
    notes: [],
    repoOf(size) {
      let repo = repos.get(size);
      if (!repo) {
        const start = wallMs();
        repo = BenchRepo.create(tmp, {
          services: size,
          // The flood service lives where the daemon runs.
          flood: size === primary
            ? { service: serviceName(size - 1), bytes: settings.floodBytes }
            : undefined,
        }).then((built) => {
          progress(
            `fixture N=${size} built in ${(wallMs() - start).toFixed(0)} ms`,
          );
          return built;
        });
        repos.set(size, repo);
      }
      return repo;
    },
    rssFloors() {
      floors ??= measureRssFloors(settings, tmp, rows);
      return floors;
    },
  };
}

async function measureRssFloors(
  settings: BenchSettings,
  tmp: string,
  rows: ResultRow[],
): Promise<RssFloors> {
  const options = { denoFlags: settings.daemonFlags, reps: 3 };
  const empty = await idleRssMb(IDLE_FILE, options);
  const dependencies = await idleRssMb(DEPENDENCIES_FILE, {
    ...options,
    args: [join(tmp, "floor.sqlite")],
  });
  rows.push({
    figure: "RSS of an empty Deno process (idle on stdin, daemon's V8 flags)",
    n: "",
    value: empty,
    unit: "MB",
  }, {
    figure:
      "dependency floor: RSS of a Deno process that loaded yaml, commander, LogTape and opened a node:sqlite DB",
    n: "",
    value: dependencies,
    unit: "MB",
    floor: empty,
    floorLabel: "empty Deno",
    ratio: dependencies / empty,
  });
  return { empty, dependencies };
}

async function main(args: string[]): Promise<void> {
  let settings: BenchSettings | undefined;
  try {
    settings = settingsFrom(args);
  } catch (error) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `bench: ${error instanceof Error ? error.message : error}\n${USAGE}`,
      ),
    );
    Deno.exitCode = 2;
    return;
  }
  if (settings === undefined) {
    write(USAGE);
    return;
  }
  for (const [name, value] of Object.entries(GIT_ENV)) {
    Deno.env.set(name, value);
  }
  const began = wallMs();
  const names = (Object.keys(SCENARIO_RUNS) as ScenarioName[]).filter((name) =>
    settings.scenarios.has(name)
  );
  const { rows, notes } = settings.rowsTo === undefined && names.length > 1
    ? await runEachInItsOwnProcess(names, args)
    : await runHere(names, settings);
  if (settings.rowsTo !== undefined) {
    await Deno.writeTextFile(settings.rowsTo, JSON.stringify({ rows, notes }));
    return;
  }
  write(await header(args, (wallMs() - began) / 1000));
  write(renderTable(rows));
  for (const note of notes) write(`\n${note}`);
  const missed = rows.filter((row) => row.met === false);
  write(
    `\nTargets: ${
      rows.filter((row) => row.met === true).length
    } met, ${missed.length} not met${
      missed.length > 0
        ? ` (${
          missed.map((row) => row.n ? `${row.figure} N=${row.n}` : row.figure)
            .join("; ")
        })`
        : ""
    }.\n`,
  );
}

/** What the scenarios measured: the table's rows and the notes after it. */
interface Results {
  rows: ResultRow[];
  notes: string[];
}

/** Runs the scenarios in this process, one after the other. */
async function runHere(
  names: readonly ScenarioName[],
  settings: BenchSettings,
): Promise<Results> {
  const tmp = await Deno.makeTempDir({ prefix: "upstream-watch-bench-" });
  const rows: ResultRow[] = [];
  const context = contextFor(settings, tmp, rows);
  try {
    for (const name of names) {
      const start = wallMs();
      progress(`${name}: started (load ${loadAverage()})`);
      await SCENARIO_RUNS[name](context);
      progress(
        `${name}: done in ${
          ((wallMs() - start) / 1000).toFixed(1)
        } s (load ${loadAverage()})`,
      );
    }
  } finally {
    if (settings.keep) {
      progress(`fixtures kept in ${tmp}`);
    } else {
      await Deno.remove(tmp, { recursive: true });
    }
  }
  return { rows, notes: context.notes };
}

/**
 * Runs each scenario in a process of its own: the in-process agents of one
 * (10,000 services) leave a larger process behind, and spawning git from a
 * larger process costs more, which would slow the next scenario's cycles.
 * A row two scenarios share (the RSS floors) is shown once.
 */
async function runEachInItsOwnProcess(
  names: readonly ScenarioName[],
  args: readonly string[],
): Promise<Results> {
  const rest = withoutOnly(args);
  const results: Results = { rows: [], notes: [] };
  const shown = new Set<string>();
  const dir = await Deno.makeTempDir({ prefix: "upstream-watch-bench-rows-" });
  try {
    for (const name of names) {
      const file = join(dir, `${name}.json`);
      const { success } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          fileURLToPath(import.meta.url),
          ...rest,
          "--only",
          name,
          "--rows-to",
          file,
        ],
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!success) throw new Error(`scenario ${name} failed`);
      const child = JSON.parse(await Deno.readTextFile(file)) as Results;
      for (const row of child.rows) {
        const key = `${row.figure}\0${row.n}`;
        if (shown.has(key)) continue;
        shown.add(key);
        results.rows.push(row);
      }
      results.notes.push(...child.notes);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

/** The command line without its `--only` choice. */
function withoutOnly(args: readonly string[]): string[] {
  const rest: string[] = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] === "--only") index++;
    else if (!args[index].startsWith("--only=")) rest.push(args[index]);
  }
  return rest;
}

/** The 1, 5 and 15 minute load averages, from /proc/loadavg. */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
      .join(" ");
  } catch {
    return "unknown";
  }
}

async function header(args: string[], seconds: number): Promise<string> {
  const gitVersion = await git(Deno.cwd(), ["--version"]);
  const cpus = navigator.hardwareConcurrency;
  return [
    `## upstream-watch cycle benchmark`,
    "",
    `\`deno task bench${args.length ? ` ${args.join(" ")}` : ""}\` — ${
      new Date().toISOString()
    }, deno ${Deno.version.deno}, ${gitVersion}, ${Deno.build.os}/${Deno.build.arch}, ${cpus} CPUs, load average at the end ${loadAverage()}, took ${
      seconds.toFixed(0)
    } s. Each figure: median of the runs shown; "floor" is measured in the same run.`,
    "",
    "",
  ].join("\n");
}

if (import.meta.main) {
  await main(Deno.args);
}
