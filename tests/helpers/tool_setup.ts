/**
 * Tools some tests need beyond git and Deno (headless Chromium, a Docker
 * engine, a Debian base image): each is set up once per test run by its script
 * in `.ci/` when it is missing, and the tests needing it are skipped with the
 * reason when it cannot be, except under `CI=true` on Linux, where they fail.
 */
import { fileURLToPath } from "node:url";

/** The project's root folder (the scripts in `.ci/` live there). */
export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Whether tests can use a tool, and if not, why. */
export type ToolSupport =
  | { available: true }
  | { available: false; reason: string };

/** A tool the tests need, how to tell it works, and the script that sets it up. */
export interface TestTool {
  /** Names the tool in messages and in the skipped-tests summary ("Docker"). */
  name: string;
  /** Undefined when the tool works; otherwise why not, in one line. */
  probe(): Promise<string | undefined>;
  /** The set-up script, relative to the project root (`.ci/start-docker`). */
  setupScript: string;
  /** Arguments of the script. */
  setupArgs?: readonly string[];
}

/**
 * Environment variable: `off` turns the set-up scripts off, so missing tools
 * only skip their tests (nothing is installed or started).
 */
export const SETUP_SWITCH = "UPSTREAM_WATCH_TEST_SETUP";

/** Environment variable naming the file where skipped tests are listed for the run's summary (set by `deno task test`). */
export const SKIP_LOG = "UPSTREAM_WATCH_SKIPPED_TESTS";

/** Longest a set-up script may take (an apt-get install of Chromium included). */
const SETUP_TIMEOUT_MS = 15 * 60_000;

/** Serialises the set-up scripts of parallel test files, and of parallel test runs. */
const LOCK_FILE = `${PROJECT_ROOT}test-output/tool-setup.lock`;

/** Whether the tests that need a tool must run here rather than be skipped. */
export function toolsRequired(): boolean {
  return Deno.env.get("CI") === "true" && Deno.build.os === "linux";
}

/**
 * The environment variable that records, for the whole test process (its
 * test files share one environment), that `tool`'s script already ran.
 */
function triedMarker(tool: TestTool): string {
  return `UPSTREAM_WATCH_TEST_SETUP_TRIED_${
    tool.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")
  }`;
}

/** The last non-empty line of a script's output. */
function lastLine(text: string): string {
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return lines.at(-1) ?? "";
}

function note(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`${line}\n`));
}

/** Runs the tool's set-up script; returns why it failed, or undefined. */
async function runSetup(tool: TestTool): Promise<string | undefined> {
  note(
    `${tool.name} is missing: setting it up with ${tool.setupScript} (once per test run)`,
  );
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("bash", {
      args: [tool.setupScript, ...(tool.setupArgs ?? [])],
      cwd: PROJECT_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(SETUP_TIMEOUT_MS),
    }).output();
  } catch (error) {
    return `${tool.setupScript} could not run: ${
      error instanceof Error ? error.message : String(error)
    }`;
  }
  if (result.success) return undefined;
  const decoder = new TextDecoder();
  const why = lastLine(decoder.decode(result.stderr)) ||
    lastLine(decoder.decode(result.stdout));
  return `${tool.setupScript} exited ${result.code}${why ? `: ${why}` : ""}`;
}

/**
 * Whether `tool` works, after running its set-up script when it does not:
 * at most once per test process and tool, under a lock so that parallel test
 * files (and runs) never run two set-ups at once.
 */
export async function ensureTool(tool: TestTool): Promise<ToolSupport> {
  const missing = await tool.probe();
  if (missing === undefined) return { available: true };
  if (Deno.build.os !== "linux") {
    return { available: false, reason: missing };
  }
  if (Deno.env.get(SETUP_SWITCH) === "off") {
    return {
      available: false,
      reason: `${missing} (${SETUP_SWITCH}=off: not set up)`,
    };
  }
  await Deno.mkdir(`${PROJECT_ROOT}test-output`, { recursive: true });
  using lock = await Deno.open(LOCK_FILE, { create: true, write: true });
  await lock.lock(true);
  const marker = triedMarker(tool);
  const earlier = Deno.env.get(marker);
  // Another test file may have set the tool up while this one waited.
  const stillMissing = await tool.probe();
  if (stillMissing === undefined) return { available: true };
  if (earlier !== undefined) {
    return { available: false, reason: earlier || stillMissing };
  }
  const failed = await runSetup(tool);
  const after = await tool.probe();
  const reason = after === undefined
    ? ""
    : `${after}; ${failed ?? `${tool.setupScript} did not help`}`;
  Deno.env.set(marker, reason);
  return after === undefined
    ? { available: true }
    : { available: false, reason };
}

/** Whether the skip of `tool`'s tests was already printed by this process. */
function skipNoted(tool: TestTool): boolean {
  const marker = `${triedMarker(tool)}_NOTED`;
  if (Deno.env.get(marker)) return true;
  Deno.env.set(marker, "1");
  return false;
}

/**
 * Records a skipped test for the run's summary: in the file named by
 * {@link SKIP_LOG} when `deno task test` runs the tests, else one line on
 * stderr per tool.
 */
function recordSkip(tool: TestTool, reason: string, name: string): void {
  const log = Deno.env.get(SKIP_LOG);
  if (log) {
    Deno.writeTextFileSync(
      log,
      `${JSON.stringify({ tool: tool.name, reason, name })}\n`,
      { append: true },
    );
  } else if (!skipNoted(tool)) {
    note(`${tool.name} tests skipped: ${reason}`);
  }
}

/**
 * A Deno test that needs `tool` (with its support as found by
 * {@link ensureTool}): ignored with the reason recorded when the tool is
 * missing, except where {@link toolsRequired}, where it fails with the reason.
 */
export function testNeeding(
  tool: TestTool,
  support: ToolSupport,
  test: { name: string; fn: () => Promise<void> },
): void {
  const skip = !support.available && !toolsRequired();
  if (!support.available && skip) recordSkip(tool, support.reason, test.name);
  Deno.test({
    name: test.name,
    ignore: skip,
    fn: async () => {
      if (!support.available) {
        throw new Error(
          `CI=true but this test cannot run without ${tool.name}: ${support.reason}`,
        );
      }
      await test.fn();
    },
  });
}
