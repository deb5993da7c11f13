import { fileURLToPath } from "node:url";
import { runCli } from "../../src/cli/program.ts";
import { resetLogging } from "../../src/log/logging.ts";
import { GIT_ENV } from "./git_fixture.ts";

/** What one invocation of the CLI produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/**
 * The `deno` command line that runs the real entry point (or another Deno
 * `script`, e.g. a test probe) with `args`.
 */
export function agentCommandArgs(
  args: readonly string[],
  options: { v8Flags?: string; script?: string } = {},
): string[] {
  return [
    "run",
    "-A",
    "--quiet",
    ...(options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : []),
    "--config",
    DENO_CONFIG,
    options.script ?? MAIN,
    ...args,
  ];
}

/** The environment every spawned agent gets: git isolated from the user's configuration, no colour. */
export function agentEnv(
  extra: Record<string, string> = {},
): Record<string, string> {
  return { ...GIT_ENV, NO_COLOR: "1", ...extra };
}

/** Options of {@link spawnCli}. */
export interface SpawnCliOptions {
  /** Extra environment on top of {@link GIT_ENV}. */
  env?: Record<string, string>;
  /** Working directory of the process (default: the test's). */
  cwd?: string;
  /** Passed to `deno run --v8-flags=…`. */
  v8Flags?: string;
}

/**
 * Runs the real entry point (`deno run -A main.ts args…`) once in its own
 * process, isolated from the user's git config (for process-level effects:
 * the lock, stderr logs, exit codes).
 */
export async function spawnCli(
  args: readonly string[],
  options: SpawnCliOptions = {},
): Promise<CliResult> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: agentCommandArgs(args, options),
    cwd: options.cwd,
    env: agentEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/**
 * Git in this process must not read the user's or the system's configuration
 * either; every test file sets the same values, so parallel files agree.
 */
export function isolateGitConfig(): void {
  for (const [name, value] of Object.entries(GIT_ENV)) {
    Deno.env.set(name, value);
  }
}

/**
 * Runs the CLI in this process with a capturing output (fast: no new Deno).
 * Log records go to the real stderr at `error` level only, so they cannot be
 * asserted on here; spawn the CLI with {@link spawnCli} for that.
 */
export async function cli(args: readonly string[]): Promise<CliResult> {
  isolateGitConfig();
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

/** {@link cli} on `repo` as host "test-host", the host name the notification and commit status tests expect in what they receive. */
export async function cliOnTestHost(
  repo: string,
  args: readonly string[],
): Promise<CliResult> {
  return await cli(["--repo", repo, "--host", "test-host", ...args]);
}

/** `--repo REPO [globals…] run --once` in this process (see {@link cli}). */
export function runOnce(
  repo: string,
  globals: readonly string[] = [],
): Promise<CliResult> {
  return cli(["--repo", repo, ...globals, "run", "--once"]);
}

/** Parses the stdout of a `--json` command. */
export function parseJson<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(
      `not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`,
      { cause: error },
    );
  }
}
