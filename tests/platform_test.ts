/**
 * The platform-dependent pieces, tested for every platform by injecting the
 * operating system, plus source checks that keep Unix-only assumptions out of
 * src/ (SPEC §3: `/bin/sh -c` on Unix, `cmd.exe /d /s /c` on Windows). The
 * tests that start real processes run on whatever platform runs the suite, so
 * the Windows and macOS CI jobs exercise the real shells there.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { stopSignals } from "../src/cli/signals.ts";
import { parseRepoConfig, parseServiceConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";
import {
  DenoProcessRunner,
  killTreeCommand,
  LineSplitter,
  platformShell,
} from "../src/process/run_process.ts";

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(PROJECT_ROOT, "src");
/** The one file allowed to know the platform's shell. */
const PLATFORM_SHELL_FILE = "src/process/run_process.ts";
/** The one file allowed to signal processes and read /proc. */
const PROCESS_GROUP_FILE = "src/process/process_group.ts";

// --- shells ---------------------------------------------------------------

Deno.test("a string command runs through /bin/sh -c on Linux and macOS", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.deepEqual(platformShell(`echo "$HOME" | tr a-z A-Z`, os), {
      command: "/bin/sh",
      args: ["-c", `echo "$HOME" | tr a-z A-Z`],
    });
  }
});

Deno.test("a string command runs through cmd.exe /d /s /c on Windows, wrapped in one pair of quotes", () => {
  // With /s, cmd.exe removes exactly the first and the last quote of the
  // command line and runs the rest verbatim, so inner quotes, & and | keep
  // their meaning without escaping.
  const script =
    'docker compose -f "my app\\compose.yaml" up -d && echo "a & b"';
  assert.deepEqual(platformShell(script, "windows"), {
    command: "cmd.exe",
    args: ["/d", "/s", "/c", `"${script}"`],
  });
  assert.deepEqual(platformShell("", "windows").args, ["/d", "/s", "/c", '""']);
});

Deno.test("every other platform Deno builds for counts as Unix", () => {
  for (
    const os of [
      "freebsd",
      "netbsd",
      "aix",
      "solaris",
      "illumos",
      "android",
    ] as const
  ) {
    assert.equal(platformShell("true", os).command, "/bin/sh");
  }
});

Deno.test("a timed-out command on Windows is killed with its whole tree by taskkill", () => {
  assert.deepEqual(killTreeCommand(4242), {
    command: "taskkill",
    args: ["/T", "/F", "/PID", "4242"],
  });
});

Deno.test("a string command keeps its quoting through the real platform shell", async () => {
  const runner = new DenoProcessRunner();
  const result = await runner.run(
    { kind: "shell", script: 'echo "a & b"&& echo two' },
    { output: "collect", timeoutMs: 20_000 },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  // cmd.exe's echo prints the quotes, sh's removes them; either way the `&`
  // inside the quotes is text and the `&&` outside runs the second command.
  const expected = Deno.build.os === "windows" ? '"a & b"' : "a & b";
  assert.deepEqual(result.stdout.split(/\r?\n/).filter(Boolean), [
    expected,
    "two",
  ]);
});

Deno.test("an argument-list command reaches the program verbatim, without a shell", async () => {
  const runner = new DenoProcessRunner();
  const result = await runner.run(
    {
      kind: "argv",
      argv: [
        Deno.execPath(),
        "eval",
        "console.log(JSON.stringify(Deno.args))",
        "a b",
        "c&d",
        '"quoted"',
        "$HOME",
        "%PATH%",
      ],
    },
    { output: "collect", timeoutMs: 20_000 },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [
    "a b",
    "c&d",
    '"quoted"',
    "$HOME",
    "%PATH%",
  ]);
});

Deno.test("output lines written with CRLF (Windows programs) lose the CR", () => {
  const lines: string[] = [];
  const splitter = new LineSplitter(1024, (line) => lines.push(line));
  splitter.push(new TextEncoder().encode("one\r\ntwo\r\nthr"));
  splitter.push(new TextEncoder().encode("ee\r\n"));
  splitter.finish();
  assert.deepEqual(lines, ["one", "two", "three"]);
});

// --- signals --------------------------------------------------------------

Deno.test("Windows stops on Ctrl+C and Ctrl+Break, never SIGTERM (not listenable there)", () => {
  const windows = stopSignals("windows");
  assert.ok(!windows.includes("SIGTERM"));
  assert.deepEqual([...windows].sort(), ["SIGBREAK", "SIGINT"]);
});

Deno.test("Linux and macOS stop on SIGINT, SIGTERM and SIGHUP (systemd and docker send SIGTERM)", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.deepEqual([...stopSignals(os)].sort(), [
      "SIGHUP",
      "SIGINT",
      "SIGTERM",
    ]);
  }
});

Deno.test("every stop signal of this platform can be listened to here", () => {
  const listener = () => {};
  for (const signal of stopSignals()) {
    Deno.addSignalListener(signal, listener);
    Deno.removeSignalListener(signal, listener);
  }
});

// --- configuration files with Windows line endings ---------------------------

const SERVICE_YAML = [
  "# checked out on Windows with core.autocrlf",
  "pre_update_commands:",
  "  - docker compose pull",
  "update_commands:",
  "  - |",
  "    docker compose down",
  "    docker compose up -d",
  '  - ["docker", "image", "prune", "-f"]',
  "env:",
  '  COMPOSE_PROJECT_NAME: "web"',
  "depends_on: [db]",
  "watch_paths:",
  "  - shared/caddy",
  "",
].join("\n");

Deno.test("a hook file with CRLF line endings reads exactly like one with LF", () => {
  const lf = parseServiceConfig(SERVICE_YAML, "web/.update-hooks.yaml");
  const crlf = parseServiceConfig(
    SERVICE_YAML.replaceAll("\n", "\r\n"),
    "web/.update-hooks.yaml",
  );
  assert.deepEqual(crlf, lf);
  // No CR leaks into a multi-line script: `/bin/sh` would see `down\r`.
  assert.equal(
    crlf.config.updateCommands[0],
    "docker compose down\ndocker compose up -d\n",
  );
  assert.deepEqual(crlf.config.env, { COMPOSE_PROJECT_NAME: "web" });
});

Deno.test("a hook file saved with a byte order mark and CRLF still parses", () => {
  const { config } = parseServiceConfig(
    "\uFEFF" + SERVICE_YAML.replaceAll("\n", "\r\n"),
    "web/.update-hooks.yaml",
  );
  assert.deepEqual(config.preUpdateCommands, ["docker compose pull"]);
});

Deno.test("the repository config with CRLF line endings reads exactly like one with LF", () => {
  const text = [
    "retry_interval: 30",
    "ignore_folders:",
    "  - shared",
    "sync: reset",
    "state_file: state/agent.sqlite",
    "",
  ].join("\n");
  assert.deepEqual(
    parseRepoConfig(text.replaceAll("\n", "\r\n"), ".upstream-watch.yaml"),
    parseRepoConfig(text, ".upstream-watch.yaml"),
  );
});

Deno.test("errors and warnings in a CRLF file name the right line", () => {
  const text =
    "update_commands:\r\n  - echo hi\r\nupdate_comands: []\r\ntimeout: soon\r\n";
  let error: unknown;
  try {
    parseServiceConfig(text, "web/.update-hooks.yaml");
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError, String(error));
  assert.match(error.message, /^web\/\.update-hooks\.yaml:4\b/);

  const { warnings } = parseServiceConfig(
    "update_commands:\r\n  - echo hi\r\nupdate_comands: []\r\n",
    "web/.update-hooks.yaml",
  );
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].line, 3);
});

// --- source checks ----------------------------------------------------------

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
