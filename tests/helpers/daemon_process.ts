/** The agent's daemon (`run` without --once) in its own process, for tests of the HTTP endpoint. */
import { AgentProcess, waitUntil } from "./agent_process.ts";
import { agentCommandArgs, type CliResult } from "./cli.ts";

/** Options of {@link DaemonProcess.start}. */
export interface DaemonOptions {
  /** Extra environment on top of the isolated git environment. */
  env?: Record<string, string>;
  /** Give up waiting for the "listening on" log line after this long. */
  startTimeoutMs?: number;
  /** Passed to `deno run --v8-flags=…` (the start task uses `--expose-gc,--max-semi-space-size=1`). */
  v8Flags?: string;
}

/** The complete log line (a port is followed by `:` or a space) of a listening endpoint. */
const LISTENING = /listening on (http:\/\/[^\s:]+:\d+):? /;

/** A running `upstream-watch … run` whose HTTP endpoint listens at `url`; disposing stops it with SIGTERM. */
export class DaemonProcess implements AsyncDisposable {
  private constructor(
    readonly process: AgentProcess,
    /** Base URL of its HTTP endpoint. */
    readonly url: string,
  ) {}

  /** Starts `main.ts args…` and waits until its HTTP endpoint listens. */
  static async start(
    args: readonly string[],
    options: DaemonOptions = {},
  ): Promise<DaemonProcess> {
    const process = AgentProcess.startArgs(
      agentCommandArgs(args, { v8Flags: options.v8Flags }),
      options,
    );
    try {
      const url = await waitUntil(() => {
        const match = LISTENING.exec(process.stderr);
        if (match) return match[1];
        if (process.status) {
          throw new Error(
            `the daemon exited (code ${process.status.code}) before listening`,
          );
        }
        return undefined;
      }, {
        message: "the daemon's HTTP endpoint listens",
        timeoutMs: options.startTimeoutMs ?? 30_000,
      });
      return new DaemonProcess(process, url);
    } catch (error) {
      const { stderr } = await process.stop();
      throw new Error(`${(error as Error).message}\nlog:\n${stderr}`);
    }
  }

  /** Stops it like systemd does (SIGTERM) and returns its exit code and log. */
  stop(): Promise<CliResult> {
    return this.process.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
