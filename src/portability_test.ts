/**
 * Source checks that keep Unix-only assumptions out of src/: one file knows the
 * platform shell, paths are joined with node:path, and only known files listen
 * for or send signals.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(PROJECT_ROOT, "src");
/** The one file allowed to know the platform's shell. */
const PLATFORM_SHELL_FILE = "src/process/run_process.ts";
/** The one file allowed to signal processes and read /proc. */
const PROCESS_GROUP_FILE = "src/process/process_group.ts";

/** Every non-test TypeScript file under src/, as project-relative paths with `/`. */
async function sourceFiles(): Promise<{ path: string; text: string }[]> {
  const files: { path: string; text: string }[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const full = join(dir, entry.name);
      if (entry.isDirectory) await walk(full);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        files.push({
          path: relative(PROJECT_ROOT, full).replaceAll("\\", "/"),
          text: await Deno.readTextFile(full),
        });
      }
    }
  };
  await walk(SRC);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

Deno.test("only the platform-shell function's file names /bin/sh or cmd.exe", async () => {
  const offenders = (await sourceFiles())
    .filter((file) => file.path !== PLATFORM_SHELL_FILE)
    .filter((file) => /\/bin\/sh\b|\bcmd\.exe\b/i.test(file.text))
    .map((file) => file.path);
  assert.deepEqual(offenders, []);
});

Deno.test("src/ names no Unix-only absolute path", async () => {
  const offenders: string[] = [];
  for (const file of await sourceFiles()) {
    if (file.path === PROCESS_GROUP_FILE) continue;
    for (
      const match of file.text.matchAll(
        /["'`](\/(?:dev|tmp|proc|etc|var)\/[^"'`]*)/g,
      )
    ) {
      offenders.push(
        `${file.path}:${lineOf(file.text, match.index)}: ${match[1]}`,
      );
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("only src/cli/signals.ts listens for signals, and only process_group.ts sends them", async () => {
  const listeners: string[] = [];
  const senders: string[] = [];
  for (const file of await sourceFiles()) {
    if (
      /addSignalListener\(/.test(file.text) &&
      file.path !== "src/cli/signals.ts"
    ) {
      listeners.push(file.path);
    }
    if (/Deno\.kill\(/.test(file.text) && file.path !== PROCESS_GROUP_FILE) {
      senders.push(file.path);
    }
  }
  assert.deepEqual({ listeners, senders }, { listeners: [], senders: [] });
});

/** Deno's file system calls: their path arguments must come from node:path, not from `${dir}/${name}`. */
const FS_CALL =
  /\bDeno\.(readTextFile|readFile|writeTextFile|writeFile|open|create|stat|lstat|mkdir|remove|readDir|realPath|copyFile|rename|chmod|chown|truncate|symlink|link|readLink|utime|makeTempDir|makeTempFile)(?:Sync)?\(/g;
/** Calls whose second argument is a path as well. */
const TWO_PATHS = new Set(["copyFile", "rename", "symlink", "link"]);

/** The path arguments of every file system call in `text`, with their line. */
function fsPathArguments(text: string): { line: number; path: string }[] {
  const found: { line: number; path: string }[] = [];
  for (const match of text.matchAll(FS_CALL)) {
    const args = splitArguments(
      callArguments(text, match.index + match[0].length),
    );
    const count = TWO_PATHS.has(match[1]) ? 2 : 1;
    for (const path of args.slice(0, count)) {
      found.push({ line: lineOf(text, match.index), path: path.trim() });
    }
  }
  return found;
}

Deno.test("file system paths in src/ are joined with node:path, never with a literal /", async () => {
  const offenders: string[] = [];
  for (const file of await sourceFiles()) {
    for (const { line, path } of fsPathArguments(file.text)) {
      if (literalParts(path).some((part) => part.includes("/"))) {
        offenders.push(`${file.path}:${line}: ${path}`);
      }
    }
    // Working directories of spawned processes are file system paths too.
    for (
      const match of file.text.matchAll(/\bcwd:\s*(`[^`]*`|"[^"]*"|'[^']*')/g)
    ) {
      if (literalParts(match[1]).some((part) => part.includes("/"))) {
        offenders.push(
          `${file.path}:${lineOf(file.text, match.index)}: ${match[0]}`,
        );
      }
    }
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the file system check catches a template-string path join", () => {
  const sample = [
    "await Deno.readTextFile(`${root}/${name}`);",
    "Deno.statSync(join(a, b));",
    "Deno.writeTextFileSync(pidPath, `${Deno.pid}/\\n`);",
    'await Deno.rename(from, dir + "/" + name);',
  ].join("\n");
  const flagged = fsPathArguments(sample)
    .filter(({ path }) => literalParts(path).some((part) => part.includes("/")))
    .map(({ line, path }) => `${line}: ${path}`);
  assert.deepEqual(flagged, ["1: `${root}/${name}`", '4: dir + "/" + name']);
});

/** Splits call arguments at top-level commas. */
function splitArguments(args: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let index = 0; index < args.length; index++) {
    const char = args[index];
    if (quote) {
      if (char === "\\") index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === "`") quote = char;
    else if ("([{".includes(char)) depth++;
    else if (")]}".includes(char)) depth--;
    else if (char === "," && depth === 0) {
      parts.push(args.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(args.slice(start));
  return parts.filter((part) => part.trim() !== "");
}

/** The text between an opening parenthesis (just before `start`) and its match. */
function callArguments(text: string, start: number): string {
  let depth = 1;
  let quote: string | undefined;
  for (let index = start; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === "\\") index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'" || char === "`") quote = char;
    else if (char === "(") depth++;
    else if (char === ")" && --depth === 0) return text.slice(start, index);
  }
  return text.slice(start);
}

/** The literal text inside string and template literals of `code`, without `${…}` parts. */
function literalParts(code: string): string[] {
  const parts: string[] = [];
  for (
    const match of code.matchAll(
      /`([^`]*)`|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g,
    )
  ) {
    const body = match[1] ?? match[2] ?? match[3] ?? "";
    const literal = match[1] === undefined
      ? body
      : body.replaceAll(/\$\{[^}]*\}/g, "");
    if (literal !== "") parts.push(literal);
  }
  return parts;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}
