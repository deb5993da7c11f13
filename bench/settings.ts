/** The bench's command-line flags and what they set. */
import { parseArgs } from "node:util";
import { V8_FLAGS } from "../scripts/permissions.ts";

/** Every scenario, in the order the driver runs them. */
export const SCENARIOS = [
  "idle",
  "changed",
  "webhook",
  "cli",
  "startup",
  "daemon",
  "soak",
  "history",
] as const;

/** One scenario's name, as `--only` takes it. */
export type ScenarioName = typeof SCENARIOS[number];

/** What one `deno task bench` run measures, and how often. */
export interface BenchSettings {
  sizes: number[];
  /** Repetitions of each in-process or CLI measurement. */
  reps: number;
  /** Repetitions of the changed-service cycle (each is a commit and a real hook run); `--reps` sets them too. */
  changedReps: number;
  /** Runs recorded in the state DB for the CLI figures. */
  runs: number;
  /** Idle cycles of the daemon between the first and the last RSS sample. */
  daemonCycles: number;
  /** Idle cycles of the soak (its own daemon, polling every millisecond). */
  soakCycles: number;
  floodBytes: number;
  /** Commits in the long history, and how far back its services were deployed. */
  historyCommits: number;
  historyBehind: number;
  scenarios: Set<ScenarioName>;
  keep: boolean;
  /** Extra `deno run` flags for the daemon subprocess (memory experiments). */
  daemonFlags: string[];
  /** Set in the process the driver starts for one scenario: where its rows go, as JSON. */
  rowsTo?: string;
}

/** The usage line `--help` prints. */
export const USAGE = `usage: deno task bench [--quick] [--only ${
  SCENARIOS.join(",")
}] [--sizes 10,100,1000,10000] [--reps N] [--keep] [--daemon-flags=--v8-flags=…]\n`;

/** Parses the bench's flags; `undefined` when `--help` was asked for. */
export function settingsFrom(args: string[]): BenchSettings | undefined {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      sizes: { type: "string" },
      reps: { type: "string" },
      keep: { type: "boolean", default: false },
      "daemon-flags": { type: "string" },
      "rows-to": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick;
  const scenarios = new Set<ScenarioName>(
    values.only === undefined ? SCENARIOS : values.only.split(",").map(
      (name) => {
        if (!(SCENARIOS as readonly string[]).includes(name)) {
          throw new Error(`Cannot run scenario "${name}": unknown`);
        }
        return name as ScenarioName;
      },
    ),
  );
  const sizes = values.sizes?.split(",").map(Number) ??
    (quick ? [10, 100] : [10, 100, 1000, 10_000]);
  if (sizes.some((size) => !Number.isInteger(size) || size < 2)) {
    throw new Error(`Cannot use sizes "${values.sizes}": need integers ≥ 2`);
  }
  const reps = values.reps === undefined
    ? (quick ? 7 : 25)
    : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) {
    throw new Error(`Cannot use reps "${values.reps}": need an integer ≥ 1`);
  }
  return {
    sizes,
    reps,
    changedReps: values.reps === undefined ? (quick ? 5 : 11) : reps,
    runs: quick ? 10_000 : 100_000,
    daemonCycles: quick ? 100 : 1000,
    soakCycles: quick ? 300 : 10_000,
    floodBytes: quick ? 5 * 2 ** 20 : 50 * 2 ** 20,
    historyCommits: quick ? 5_000 : 50_000,
    historyBehind: quick ? 2_000 : 20_000,
    scenarios,
    keep: values.keep,
    // By default the daemon runs as `deno task start` and the binaries do.
    daemonFlags: values["daemon-flags"]?.split(" ").filter(Boolean) ??
      [V8_FLAGS],
    rowsTo: values["rows-to"],
  };
}

/** The size the single-size scenarios (webhook, CLI, daemon) use: 1,000 when measured, else the largest. */
export function primarySize(settings: BenchSettings): number {
  return settings.sizes.includes(1000) ? 1000 : Math.max(...settings.sizes);
}

/** The sizes of the changed cycle: every size from 1,000 up, or the largest. */
export function changedSizes(settings: BenchSettings): number[] {
  const large = settings.sizes.filter((size) => size >= 1000);
  return large.length > 0 ? large : [Math.max(...settings.sizes)];
}
