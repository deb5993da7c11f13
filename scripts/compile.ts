/**
 * `deno task compile [--target T]...`: builds standalone binaries of
 * upstream-watch with `deno compile` into `dist/upstream-watch-<target>`
 * (`.exe` on Windows), then writes `dist/SHA256SUMS`.
 *
 * `deno compile` downloads the runtime for each target (denort) on first use,
 * so this needs network access to dl.deno.land or a warm DENO_DIR.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { PROGRAM_MODULE } from "../main.ts";
import { PERMISSION_FLAGS, V8_FLAGS } from "./permissions.ts";

/** Every target a release ships (docs/install.md#standalone-binary-linux-macos-windows). */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIST = join(PROJECT_ROOT, "dist");

/** File name of the binary for `target`. */
export function binaryName(target: string): string {
  return `upstream-watch-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The `deno compile` arguments that build `target` into `output`. */
export function compileArgs(target: string, output: string): string[] {
  return [
    "compile",
    "--target",
    target,
    "--output",
    output,
    ...PERMISSION_FLAGS,
    V8_FLAGS,
    // main.ts imports the program by a computed specifier, which deno compile cannot see.
    "--include",
    join(PROJECT_ROOT, PROGRAM_MODULE),
    join(PROJECT_ROOT, "main.ts"),
  ];
}

/** A `SHA256SUMS` line: lowercase hex, two spaces, file name (the `sha256sum` format). */
export async function checksumLine(path: string): Promise<string> {
  const hash = createHash("sha256");
  // Consuming `readable` to the end closes the file.
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return `${hash.digest("hex")}  ${basename(path)}`;
}

/** Targets chosen by `--target T` (repeatable, or `--target=T`); every target when none is given. */
export function selectTargets(args: readonly string[]): string[] {
  const chosen: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    let target: string | undefined;
    if (arg === "--target") target = args[++index];
    else if (arg.startsWith("--target=")) {
      target = arg.slice("--target=".length);
    } else throw new CompileError(`unknown argument ${JSON.stringify(arg)}`);
    if (target === undefined || target === "") {
      throw new CompileError("--target needs a value");
    }
    if (!TARGETS.includes(target)) {
      throw new CompileError(
        `unknown target ${JSON.stringify(target)}; choose from ${
          TARGETS.join(", ")
        }`,
      );
    }
    if (!chosen.includes(target)) chosen.push(target);
  }
  return chosen.length > 0 ? chosen : [...TARGETS];
}

/** A build that cannot go on; the message is shown as is. */
class CompileError extends Error {}

const encoder = new TextEncoder();

function print(text: string, to: typeof Deno.stdout = Deno.stdout): void {
  const data = encoder.encode(`${text}\n`);
  let offset = 0;
  while (offset < data.length) offset += to.writeSync(data.subarray(offset));
}

async function compile(target: string): Promise<string> {
  const output = join(DIST, binaryName(target));
  print(`compiling ${relative(PROJECT_ROOT, output)}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(target, output),
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    throw new CompileError(
      `deno compile --target ${target} failed (exit ${code}); see its output above. ` +
        "It downloads the Deno runtime for the target on first use, so it needs network access to dl.deno.land (or a DENO_DIR that already holds it)",
    );
  }
  return output;
}

async function main(args: readonly string[]): Promise<number> {
  try {
    const targets = selectTargets(args);
    await Deno.mkdir(DIST, { recursive: true });
    const binaries: string[] = [];
    for (const target of targets) binaries.push(await compile(target));
    const lines = await Promise.all(binaries.map(checksumLine));
    const sums = join(DIST, "SHA256SUMS");
    await Deno.writeTextFile(sums, lines.join("\n") + "\n");
    print(`wrote ${relative(PROJECT_ROOT, sums)}:`);
    print(lines.join("\n"));
    return 0;
  } catch (error) {
    if (!(error instanceof CompileError)) throw error;
    print(`compile: ${error.message}`, Deno.stderr);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
