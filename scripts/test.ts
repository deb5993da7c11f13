/**
 * `deno task test`: runs the test suite (`deno test`, with the test-only
 * lockfile), then says which tests were skipped for want of a tool and why,
 * and stops the Docker daemon the run started, if it started one.
 *
 * The tests set up what they need themselves (tests/helpers/tool_setup.ts);
 * this wrapper only collects what they could not set up into the last lines
 * of the run, after Deno's own summary. Arguments are passed on to
 * `deno test` (`deno task test tests/http_test.ts`).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeAll } from "../src/log/write_all.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The lockfile of the tests: it holds the test-only packages, which the program's deno.lock must not. */
export const TEST_LOCKFILE = "tests/deno.lock";

/** One skipped test, as tests/helpers/tool_setup.ts records it. */
interface SkippedTest {
  tool: string;
  reason: string;
  name: string;
}

/** One line per tool and reason: `skipped 3 tests that need Docker: REASON`. */
export function skipSummary(skipped: readonly SkippedTest[]): string[] {
  const groups = new Map<string, { tool: string; count: number }>();
  for (const test of skipped) {
    const key = `${test.tool}\n${test.reason}`;
    const group = groups.get(key) ?? { tool: test.tool, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  return [...groups].map(([key, group]) => {
    const reason = key.slice(group.tool.length + 1);
    const tests = group.count === 1
      ? "1 test that needs"
      : `${group.count} tests that need`;
    return `skipped ${tests} ${group.tool}: ${reason}`;
  });
}

async function readSkipped(path: string): Promise<SkippedTest[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return text.split("\n").filter(Boolean).map((line) =>
    JSON.parse(line) as SkippedTest
  );
}

async function main(args: readonly string[]): Promise<number> {
  const scratch = await Deno.makeTempDir({ prefix: "upstream-watch-tests-" });
  const skipLog = join(scratch, "skipped.jsonl");
  const env: Record<string, string> = {
    UPSTREAM_WATCH_SKIPPED_TESTS: skipLog,
  };
  // A dockerd that the tests start (.ci/start-docker) is this run's to stop;
  // a caller that starts its own (.ci/run) names its own pid file.
  const pidFile = Deno.env.get("DOCKERD_PID_FILE") ??
    "test-output/dockerd.test-run.pid";
  env.DOCKERD_PID_FILE = pidFile;
  // Ctrl-C reaches `deno test` too; wait for it to end, then clean up.
  const ignoreInterrupt = () => {};
  Deno.addSignalListener("SIGINT", ignoreInterrupt);
  try {
    const status = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--allow-all",
        "--parallel",
        `--lock=${TEST_LOCKFILE}`,
        ...args,
      ],
      cwd: ROOT,
      env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    for (const line of skipSummary(await readSkipped(skipLog))) {
      writeAll(Deno.stdout, new TextEncoder().encode(`${line}\n`));
    }
    return status.code;
  } finally {
    Deno.removeSignalListener("SIGINT", ignoreInterrupt);
    await Deno.remove(scratch, { recursive: true });
    if (!Deno.env.get("DOCKERD_PID_FILE")) await stopDockerd(pidFile);
  }
}

/** Stops the dockerd whose pid .ci/start-docker wrote to `pidFile`, if any. */
async function stopDockerd(pidFile: string): Promise<void> {
  try {
    await Deno.stat(join(ROOT, pidFile));
  } catch {
    return;
  }
  await new Deno.Command("bash", {
    args: [".ci/start-docker", "--stop"],
    cwd: ROOT,
    env: { DOCKERD_PID_FILE: pidFile },
    stdin: "null",
  }).output();
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
