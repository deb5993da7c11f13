/** What every scenario is given: the settings, the fixtures of each size, the rows it adds to the table. */
import { fileURLToPath } from "node:url";
import type { BenchRepo } from "./fixture.ts";
import type { ResultRow } from "./stats.ts";
import type { BenchSettings } from "./settings.ts";

/** The entry point the CLI and daemon figures run. */
export const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
/** The project's deno.json, so subprocesses resolve imports as `deno task` does. */
export const DENO_CONFIG = fileURLToPath(
  new URL("../deno.json", import.meta.url),
);
/** The state file's name inside the agent's clone. */
export const STATE_FILE = ".upstream-watch.sqlite";

/** The RSS of two Deno processes measured once per run: one that does nothing, one that loaded the agent's dependencies. */
export interface RssFloors {
  empty: number;
  dependencies: number;
}

/** Shared by the scenarios of one run. */
export interface BenchContext {
  settings: BenchSettings;
  /** The temp dir every fixture lives under. */
  tmp: string;
  rows: ResultRow[];
  /** Markdown printed after the table (breakdowns). */
  notes: string[];
  /** The fixture with `size` services, built on first use. */
  repoOf(size: number): Promise<BenchRepo>;
  /** The RSS floors, measured on first use (their rows are added then). */
  rssFloors(): Promise<RssFloors>;
}

const encoder = new TextEncoder();

/** Writes to stdout (the table). */
export function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** Writes one progress line to stderr. */
export function progress(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`· ${text}\n`));
}
