/**
 * Top self and total times of a V8 `.cpuprofile` (from `deno run --cpu-prof`).
 *
 *   deno run --cpu-prof --cpu-prof-dir=/tmp/prof -A bench/cycle_bench.ts --only idle --sizes 1000 --reps 200
 *   deno run -A bench/cpuprofile_top.ts /tmp/prof/*.cpuprofile [--top 25] [--filter src/]
 */
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self and total (inclusive) milliseconds per function. */
export interface FunctionTime {
  name: string;
  self: number;
  total: number;
}

/** Sums sample time per function (a function's frames on several paths count once per sample for `total`). */
export function functionTimes(profile: CpuProfile): FunctionTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const key = (frame: CallFrame) => {
    const file = frame.url.replace(/^file:\/\/.*?\/(src|bench|tests)\//, "$1/")
      .replace(/^.*\/node_modules\/\.deno\//, "npm:").replace(
        /^.*\/registry\.npmjs\.org\//,
        "npm:",
      );
    return `${frame.functionName || "(anonymous)"} ${file}:${
      frame.lineNumber + 1
    }`;
  };
  const times = new Map<string, FunctionTime>();
  const entry = (name: string) => {
    let time = times.get(name);
    if (!time) {
      time = { name, self: 0, total: 0 };
      times.set(name, time);
    }
    return time;
  };
  for (let index = 0; index < profile.samples.length; index++) {
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    let id: number | undefined = profile.samples[index];
    entry(key(byId.get(id)!.callFrame)).self += ms;
    const seen = new Set<string>();
    while (id !== undefined) {
      const name = key(byId.get(id)!.callFrame);
      if (!seen.has(name)) {
        seen.add(name);
        entry(name).total += ms;
      }
      id = parent.get(id);
    }
  }
  return [...times.values()];
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      top: { type: "string", default: "25" },
      filter: { type: "string" },
    },
  });
  const top = Number(values.top);
  const out = (text: string) =>
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  for (const file of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
    const times = functionTimes(profile).filter((time) =>
      values.filter === undefined || time.name.includes(values.filter)
    );
    const wall = (profile.endTime - profile.startTime) / 1000;
    out(`# ${file} (${wall.toFixed(0)} ms profiled)\n\n## self\n`);
    for (
      const time of times.toSorted((a, b) => b.self - a.self).slice(0, top)
    ) {
      out(`${time.self.toFixed(1).padStart(9)} ms  ${time.name}\n`);
    }
    out(`\n## total (inclusive)\n`);
    for (
      const time of times.toSorted((a, b) => b.total - a.total).slice(0, top)
    ) {
      out(`${time.total.toFixed(1).padStart(9)} ms  ${time.name}\n`);
    }
    out("\n");
  }
}
