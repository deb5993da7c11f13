import { agentCommandArgs, agentEnv, type CliResult } from "./cli.ts";

/** Generous upper bound for anything a test waits for: behaviour is checked, not timing. */
export const WAIT_MS = 20_000;

/**
 * Like `spawnCli` (./cli.ts), and also samples the process's peak resident
 * memory (`VmHWM` of /proc/PID/status, Linux only; undefined elsewhere).
 */
export async function spawnCliMeasured(
  args: readonly string[],
  options: { env?: Record<string, string>; v8Flags?: string } = {},
): Promise<CliResult & { peakRssBytes?: number }> {
  await using agent = AgentProcess.startArgs(
    agentCommandArgs(args, options),
    options,
  );
  let peakKiB: number | undefined;
  const sample = async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${agent.pid}/status`);
      const match = status.match(/^VmHWM:\s+(\d+) kB/m);
      if (match) peakKiB = Math.max(peakKiB ?? 0, Number(match[1]));
    } catch {
      // Not Linux, or the process is gone.
    }
  };
  while (!agent.status) {
    await sample();
    await pause(20);
  }
  const result = await agent.exited();
  return {
    ...result,
    peakRssBytes: peakKiB === undefined ? undefined : peakKiB * 1024,
  };
}

/** Polls `check` until it returns a truthy value (returned) or fails after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | Promise<T>,
  options: { message: string; timeoutMs?: number; intervalMs?: number },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? WAIT_MS);
  while (true) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting until ${options.message}`);
    }
    await pause(options.intervalMs ?? 50);
  }
}

/** Resolves after `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The agent running as a background daemon (`run --interval S`), with its
 * stderr collected as it arrives. Disposing kills it if it still runs.
 */
export class AgentProcess implements AsyncDisposable {
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>[];
  #stdout = "";
  #stderr = "";
  #status?: Deno.CommandStatus;
  readonly #exited: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.pid = child.pid;
    this.#reading = [
      collect(child.stdout, (text) => this.#stdout += text),
      collect(child.stderr, (text) => this.#stderr += text),
    ];
    this.#exited = child.status.then((status) => this.#status = status);
  }

  /**
   * Starts `deno run -A main.ts --repo REPO [globals…] run --interval S`.
   * `globals` go before the command (e.g. `--log-level debug`).
   */
  static start(
    repo: string,
    options: {
      interval?: number;
      globals?: readonly string[];
      env?: Record<string, string>;
    } = {},
  ): AgentProcess {
    const args = [
      "--repo",
      repo,
      ...(options.globals ?? []),
      "run",
      "--interval",
      String(options.interval ?? 0.2),
    ];
    return AgentProcess.startArgs(agentCommandArgs(args), options);
  }

  /** Starts `deno ARGS…` with the agent's environment. */
  static startArgs(
    args: readonly string[],
    options: { env?: Record<string, string> } = {},
  ): AgentProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...args],
      env: agentEnv(options.env),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new AgentProcess(child);
  }

  /** Starts any Deno program (`deno run -A SCRIPT args…`) the same way, e.g. a test probe. */
  static startScript(script: string, args: readonly string[]): AgentProcess {
    return AgentProcess.startArgs(agentCommandArgs(args, { script }));
  }

  /** Waits until the process printed `text` on stdout; fails if it exits first. */
  async waitForStdout(text: string): Promise<void> {
    await waitUntil(() => {
      if (this.#stdout.includes(text)) return true;
      if (this.#status) {
        throw new Error(
          `the process exited (code ${this.#status.code}) before printing ${text}:\n${this.#stderr}`,
        );
      }
      return false;
    }, { message: `the process printed ${text}` });
  }

  /** Everything the daemon wrote to stderr so far (its log). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Everything the daemon wrote to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** The exit status once the process ended, else undefined. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  /** Number of stderr lines matching `pattern`. */
  countLines(pattern: RegExp): number {
    return this.#stderr.split("\n").filter((line) => pattern.test(line))
      .length;
  }

  /** Waits until at least `count` stderr lines match `pattern`; fails if the daemon exits first. */
  async waitForLog(pattern: RegExp, count = 1): Promise<void> {
    await waitUntil(() => {
      if (this.countLines(pattern) >= count) return true;
      if (this.#status) {
        throw new Error(
          `the agent exited (code ${this.#status.code}) before logging ${pattern}:\n${this.#stderr}`,
        );
      }
      return false;
    }, { message: `the agent logged ${pattern} ${count}×:\n${this.#stderr}` });
  }

  /** Sends a signal to the daemon. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Stops it like systemd does (SIGTERM, unless it already ended) and waits for it to end. */
  stop(): Promise<CliResult> {
    return this.#end("SIGTERM");
  }

  /** Waits for the process to end and its output to be read completely. */
  async exited(): Promise<CliResult> {
    const status = await this.#exited;
    await Promise.all(this.#reading);
    return { code: status.code, stdout: this.#stdout, stderr: this.#stderr };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#end("SIGKILL");
  }

  /** Sends `signal` unless the process already ended, then waits for its end. */
  async #end(signal: Deno.Signal): Promise<CliResult> {
    if (!this.#status) {
      try {
        this.#child.kill(signal);
      } catch {
        // It ended between the check and the kill.
      }
    }
    return await this.exited();
  }
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  append: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    append(decoder.decode(chunk, { stream: true }));
  }
  append(decoder.decode());
}
