import { waitUntil } from "./agent_process.ts";
import { shellQuote } from "./git_fixture.ts";

/** Keys of a `.update-hooks.yaml` or `.upstream-watch.yaml`, written as given (snake_case, like the file). */
export type HookFileKeys = Record<string, unknown>;

/**
 * A `.update-hooks.yaml` (or `.upstream-watch.yaml`) with one `key: value`
 * line per entry (values as JSON, which YAML reads as flow style).
 */
export function hookFile(keys: HookFileKeys): string {
  return Object.entries(keys).map(([key, value]) =>
    `${key}: ${JSON.stringify(value)}\n`
  ).join("");
}

/** A shell command appending `text` (shell-expanded inside double quotes) as one line to `file`. */
export function appendLine(
  file: string,
  text = "$UPSTREAM_WATCH_SERVICE",
): string {
  return `echo "${text}" >> ${shellQuote(file)}`;
}

/** A hook file with the `extra` keys whose only update command appends the service's name to `file`. */
export function appendingHooks(
  file: string,
  extra: HookFileKeys = {},
): string {
  return hookFile({ ...extra, update_commands: [appendLine(file)] });
}

/**
 * Update commands that hang on their first run (writing the hook's pid to
 * `pidFile`, see {@link hookPid}) and append `text` to `log` on later runs.
 */
export function hangsTheFirstTime(
  pidFile: string,
  log: string,
  text: string,
): string[] {
  return [
    `if [ -f ${shellQuote(pidFile)} ]; then ${
      appendLine(log, text)
    }; else echo $$ > ${shellQuote(pidFile)}; sleep 30; fi`,
  ];
}

/** Lines of a file a hook appended to; none when no hook wrote it. */
export async function readLines(file: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(file);
    return text.split("\n").filter((line) => line !== "");
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

/** Reads the pid a hook wrote with `echo $$ > file`, once it is complete. */
export async function hookPid(file: string): Promise<number> {
  return await waitUntil(async () => {
    const text = await Deno.readTextFile(file).catch(() => "");
    return text.endsWith("\n") ? Number.parseInt(text, 10) : undefined;
  }, { message: `the hook wrote its pid to ${file}` });
}

/** Whether process group `pgid` still exists (a hook's group that should outlive, or not outlive, its agent). */
export function groupAlive(pgid: number): boolean {
  try {
    Deno.kill(-pgid, 0 as unknown as Deno.Signal);
    return true;
  } catch {
    return false;
  }
}

/** Kills a hook's process group left behind on purpose by a test (kill -9 of its agent). */
export function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
