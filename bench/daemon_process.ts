/** The real daemon (`deno run main.ts … run`) as a subprocess whose debug log is followed line by line. */

/** Options of {@link DaemonProcess.start}. */
export interface DaemonStartOptions {
  main: string;
  denoConfig: string;
  /** Arguments after `main.ts`. */
  args: readonly string[];
  /** Extra `deno run` flags (e.g. `--v8-flags=--max-semi-space-size=1`). */
  denoFlags?: readonly string[];
  env: Record<string, string>;
}

const KEPT_LINES = 40;
const POLL_MS = 5;

/** A running daemon; counts idle cycles ("nothing to do"), finished runs and hook output lines from its log. */
export class DaemonProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #exit?: Deno.CommandStatus;
  /** Cycles that logged "nothing to do". */
  idleCycles = 0;
  /** Services whose run finished (deployed or failed), in order. */
  finishedRuns: string[] = [];
  /** Lines of hook output the daemon logged. */
  hookLines = 0;
  /** The last lines of its log, for error messages. */
  readonly lastLines: string[] = [];

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    child.status.then((status) => this.#exit = status);
    this.#reading = this.#follow(child.stderr);
  }

  /** Starts `deno run -A main.ts args…`. */
  static start(options: DaemonStartOptions): DaemonProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        ...options.denoFlags ?? [],
        "--config",
        options.denoConfig,
        options.main,
        ...options.args,
      ],
      env: options.env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    return new DaemonProcess(child);
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #follow(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline: number;
      let start = 0;
      while ((newline = pending.indexOf("\n", start)) !== -1) {
        this.#line(pending.slice(start, newline));
        start = newline + 1;
      }
      pending = pending.slice(start);
    }
    if (pending !== "") this.#line(pending);
  }

  #line(line: string): void {
    if (line.includes("] | ")) {
      this.hookLines++;
      return;
    }
    this.lastLines.push(line);
    if (this.lastLines.length > KEPT_LINES) this.lastLines.shift();
    if (line.includes("nothing to do")) {
      this.idleCycles++;
      return;
    }
    const finished = /\[([^\]]+)\] (?:deployed |run \d+ \w+:)/.exec(line);
    if (finished) this.finishedRuns.push(finished[1]);
  }

  /** Resolves once `condition` holds; rejects when the daemon exits first or `timeoutMs` passes. */
  async waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      if (this.#exit) {
        throw new Error(
          `daemon exited (${this.#exit.code}) while waiting:\n${
            this.lastLines.join("\n")
          }`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `daemon timed out after ${timeoutMs} ms (${this.idleCycles} idle cycles):\n${
            this.lastLines.join("\n")
          }`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Resident set size now, in MiB (`VmRSS`). */
  rssMb(): number {
    return this.#status("VmRSS");
  }

  /** Peak resident set size so far, in MiB (`VmHWM`). */
  hwmMb(): number {
    return this.#status("VmHWM");
  }

  #status(field: string): number {
    const text = Deno.readTextFileSync(`/proc/${this.#child.pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!match) throw new Error(`no ${field} in /proc/${this.pid}/status`);
    return Number(match[1]) / 1024;
  }

  /** SIGTERM, as an operator would; SIGKILL if it has not stopped after 40 s. */
  async stop(): Promise<Deno.CommandStatus> {
    if (!this.#exit) {
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => {
        if (!this.#exit) this.#child.kill("SIGKILL");
      }, 40_000);
      try {
        await this.#child.status;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.#reading;
    return await this.#child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      if (!this.#exit) this.#child.kill("SIGKILL");
    } catch {
      // It exited between the check and the kill.
    }
    await this.#child.status;
    await this.#reading.catch(() => {});
  }
}
