import { join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { runCli } from "../../src/cli/program.ts";
import { resetLogging } from "../../src/log/logging.ts";
import type { AgentResult } from "./agent_process.ts";
import { GIT_ENV, shellQuote } from "./git_fixture.ts";

export { shellQuote };

/** Default state file of a clone (SPEC §3 `state_file`). */
export function statePath(clone: string): string {
  return join(clone, ".upstream-watch.sqlite");
}

/**
 * Runs the CLI inside the test process (fast, no new Deno) and captures what
 * commands print. Log records go to the real stderr at `error` level only;
 * spawn the CLI where logs are asserted on.
 */
export async function runInProcess(
  args: readonly string[],
): Promise<AgentResult> {
  // Hooks and git inherit this process's environment; every test file sets the same values.
  for (const [name, value] of Object.entries(GIT_ENV)) {
    Deno.env.set(name, value);
  }
  let stdout = "";
  let stderr = "";
  try {
    const code = await runCli(["--log-level", "error", ...args], {
      out: (text) => stdout += text,
      err: (text) => stderr += text,
    });
    return { code, stdout, stderr };
  } finally {
    resetLogging();
  }
}

/** A `.update-hooks.yaml` (or `.upstream-watch.yaml`): one `key: value` line per entry, values as JSON flow style. */
export function yamlKeys(keys: Record<string, unknown>): string {
  return Object.entries(keys).map(([key, value]) =>
    `${key}: ${JSON.stringify(value)}\n`
  ).join("");
}

/** A shell command appending `text` (expanded inside double quotes) as a line to `file`. */
export function appendTo(
  file: string,
  text = "$UPSTREAM_WATCH_SERVICE",
): string {
  return `echo "${text}" >> ${shellQuote(file)}`;
}

/** Lines of a file hooks appended to; none when no hook wrote it. */
export async function linesOf(file: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(file)).split("\n").filter((line) =>
      line !== ""
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** True when `path` exists. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A row of the state database as node:sqlite returns it. */
export type Row = Record<string, SQLInputValue>;

/** Runs one read-only query against a state file and closes it again. */
export function query(
  file: string,
  sql: string,
  ...params: SQLInputValue[]
): Row[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all(...params) as Row[];
  } finally {
    db.close();
  }
}

/** The runs of a clone's state, oldest first. */
export function runsOf(clone: string, service?: string): Row[] {
  return service === undefined
    ? query(statePath(clone), "SELECT * FROM runs ORDER BY id")
    : query(
      statePath(clone),
      "SELECT * FROM runs WHERE service = ? ORDER BY id",
      service,
    );
}

/** The `services` row of `name`, if any. */
export function serviceOf(clone: string, name: string): Row | undefined {
  return query(statePath(clone), "SELECT * FROM services WHERE name = ?", name)[
    0
  ];
}

/** Parses the stdout of a `--json` command. */
export function parseJson<T = Record<string, unknown>>(result: AgentResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(
      `not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`,
      { cause: error },
    );
  }
}

/** Resolves after `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
