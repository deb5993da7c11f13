/** The agent's daemon (`run` without --once) in its own process, for tests of the HTTP endpoint. */
import { fileURLToPath } from "node:url";
import { GIT_ENV } from "./git_fixture.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));

/** Options of {@link DaemonProcess.start}. */
export interface DaemonOptions {
  /** Extra environment on top of the isolated git environment. */
  env?: Record<string, string>;
  /** Give up waiting for the "listening on" log line after this long. */
  startTimeoutMs?: number;
}

/** A running `upstream-watch … run`; its log lines are collected; disposing stops it with SIGTERM. */
export class DaemonProcess implements AsyncDisposable {
  /** Log lines written so far (standard error), with the time each arrived. */
  readonly lines: { at: number; text: string }[] = [];
  /** Base URL of its HTTP endpoint. */
  url = "";
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;
  readonly #stdout: Promise<Uint8Array>;
  readonly #waiters = new Set<() => void>();
  #exit?: { code: number; stderr: string };
  #ended = false;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdout = new Response(child.stdout).bytes();
    this.#drained = this.#collect(child.stderr);
  }

  /** Starts `main.ts args…` and waits until its HTTP endpoint listens. */
  static async start(
    args: readonly string[],
    options: DaemonOptions = {},
  ): Promise<DaemonProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", DENO_CONFIG, MAIN, ...args],
      env: { ...GIT_ENV, NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const daemon = new DaemonProcess(child);
    try {
      const line = await daemon.waitForLine(
        /listening on (http:\/\/\S+?):? /,
        options.startTimeoutMs ?? 30_000,
      );
      daemon.url = /listening on (http:\/\/[^\s:]+:\d+)/.exec(line.text)![1];
    } catch (error) {
      await daemon.stop();
      throw new Error(`${(error as Error).message}\nlog:\n${daemon.log()}`);
    }
    return daemon;
  }

  async #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const text of parts) this.lines.push({ at: Date.now(), text });
      for (const wake of this.#waiters) wake();
    }
    if (pending !== "") this.lines.push({ at: Date.now(), text: pending });
    this.#ended = true;
    for (const wake of this.#waiters) wake();
  }

  /** The whole log so far. */
  log(): string {
    return this.lines.map((line) => line.text).join("\n");
  }

  /** Waits for a log line matching `pattern` (any line so far counts). */
  async waitForLine(
    pattern: RegExp,
    timeoutMs = 15_000,
  ): Promise<{ at: number; text: string }> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.lines.find((line) => pattern.test(line.text));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0 || this.#ended) {
        throw new Error(`no log line matching ${pattern}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250));
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  /** Stops it like systemd does (SIGTERM) and returns its exit code and log. */
  async stop(): Promise<{ code: number; stderr: string }> {
    if (this.#exit) return this.#exit;
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const status = await this.#child.status;
    await this.#drained;
    await this.#stdout;
    this.#exit = { code: status.code, stderr: this.log() };
    return this.#exit;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Polls `check` every 100 ms until it returns a value other than undefined. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
