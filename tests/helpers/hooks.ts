import { shellQuote } from "./git_fixture.ts";

/** Keys of a `.update-hooks.yaml`, written as given (snake_case, like the file). */
export type HookFileKeys = Record<string, unknown>;

/** A `.update-hooks.yaml` with one `key: value` line per entry (values as JSON, which YAML reads as flow style). */
export function hookFile(keys: HookFileKeys): string {
  return Object.entries(keys).map(([key, value]) =>
    `${key}: ${JSON.stringify(value)}\n`
  ).join("");
}

/** A shell command appending `text` (shell-expanded inside double quotes) as one line to `file`. */
export function appendLine(file: string, text: string): string {
  return `echo "${text}" >> ${shellQuote(file)}`;
}

/** A hook file whose only update command appends `text` to `file`. */
export function appendingHooks(
  file: string,
  text = "$UPSTREAM_WATCH_SERVICE",
): string {
  return hookFile({ update_commands: [appendLine(file, text)] });
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

/** True when the file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
