/** Whole `deno run` processes: the CLI's wall time, and the RSS of the Deno processes the daemon is compared with. */
import { fileURLToPath } from "node:url";
import { DENO_CONFIG, MAIN } from "./context.ts";
import { GIT_ENV } from "./fixture.ts";
import { summarize, wallMs } from "./stats.ts";

/** A file that imports nothing and does nothing: the floor of `version`. */
export const EMPTY_FILE = fileURLToPath(
  new URL("./floors/empty.ts", import.meta.url),
);
/** A file that idles until stdin closes, importing nothing: the RSS of Deno itself. */
export const IDLE_FILE = fileURLToPath(
  new URL("./floors/idle.ts", import.meta.url),
);
/** A file that loads the agent's dependencies and opens a node:sqlite DB, then idles: the daemon's RSS floor. */
export const DEPENDENCIES_FILE = fileURLToPath(
  new URL("./floors/dependencies.ts", import.meta.url),
);

/** Runs `deno run -A --quiet --config deno.json file args…` to the end; its wall time and stdout. */
export async function timeDenoRun(
  file: string,
  args: readonly string[] = [],
): Promise<{ ms: number; stdout: string }> {
  const start = wallMs();
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", DENO_CONFIG, file, ...args],
    env: { ...GIT_ENV, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = wallMs() - start;
  const decoder = new TextDecoder();
  if (!result.success) {
    throw new Error(
      `deno run ${file} ${args.join(" ")} exited ${result.code}: ${
        decoder.decode(result.stderr)
      }`,
    );
  }
  return { ms, stdout: decoder.decode(result.stdout) };
}

/** Runs `main.ts args…` as a whole process; its wall time and stdout. */
export function timeCli(
  args: readonly string[],
): Promise<{ ms: number; stdout: string }> {
  return timeDenoRun(MAIN, args);
}

/**
 * The median `VmRSS` in MiB of `reps` runs of `file` (with the daemon's
 * `deno run` flags), each read once the file has printed "ready" and had
 * 300 ms to settle, then ended by closing its stdin.
 */
export async function idleRssMb(
  file: string,
  options: {
    denoFlags: readonly string[];
    args?: readonly string[];
    reps: number;
  },
): Promise<number> {
  const samples: number[] = [];
  for (let rep = 0; rep < options.reps; rep++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        ...options.denoFlags,
        "--config",
        DENO_CONFIG,
        file,
        ...options.args ?? [],
      ],
      env: { ...GIT_ENV, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let printed = "";
    while (!printed.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${file} exited before it was ready`);
      printed += value;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!match) throw new Error(`no VmRSS in /proc/${child.pid}/status`);
    samples.push(Number(match[1]) / 1024);
    await child.stdin.close();
    await reader.cancel();
    await child.status;
  }
  return summarize(samples).median;
}
