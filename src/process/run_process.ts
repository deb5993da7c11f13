/** Running one command to completion: spawning it in its own process group, its deadlines, and collecting its output. */
import { errorMessage } from "../errors.ts";
import { killProcessGroup, killWindowsTree } from "./process_group.ts";
import { CollectSink, type OutputSink, TailSink } from "./output_sink.ts";
import type { MemoryPressure } from "./memory.ts";
import { finishTransfers, readInto, writeAndClose } from "./pipe_transfer.ts";
import type {
  DrainPolicy,
  ProcessResult,
  ProcessRunner,
  ProcessSpec,
  RunProcessOptions,
} from "./types.ts";

export {
  isSameProcessGroup,
  killProcessGroup,
  killTreeCommand,
  processGroupExists,
  processStartTime,
  signalGroup,
} from "./process_group.ts";
export { LineSplitter } from "./line_splitter.ts";
export { TailBuffer } from "./tail_buffer.ts";

/** Exit code reported for a command that could not be started, as shells do. */
export const CANNOT_START_EXIT_CODE = 127;

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_TAIL_BYTES = 65536;
/**
 * How long to keep reading after a killed command ended: what its group wrote
 * is still wanted, but a member that left the group may hold the pipes.
 */
const KILLED_DRAIN_MS = 1000;

/** The line added to a command's output when its pipes were still open as reading stopped. */
export const OUTPUT_NOT_COLLECTED_NOTE =
  "[upstream-watch] output after exit not collected: a background process still holds the pipe";

type OperatingSystem = typeof Deno.build.os;

/** Command and arguments that run `script` through the platform's shell. */
export function platformShell(
  script: string,
  os: OperatingSystem = Deno.build.os,
): { command: string; args: string[] } {
  if (os === "windows") {
    // `/s` strips exactly the outer pair of quotes and keeps the rest verbatim,
    // so the script needs no escaping; this only survives when Deno passes the
    // arguments raw (`windowsRawArguments`).
    return { command: "cmd.exe", args: ["/d", "/s", "/c", `"${script}"`] };
  }
  return { command: "/bin/sh", args: ["-c", script] };
}

/** {@link ProcessRunner} over `Deno.Command` that kills whole process trees. */
export class DenoProcessRunner implements ProcessRunner {
  readonly #os: OperatingSystem;
  readonly #memory?: MemoryPressure;

  constructor(
    options: {
      os?: OperatingSystem;
      /** Told about the output read, so the daemon can give its buffers back. */
      memory?: MemoryPressure;
    } = {},
  ) {
    this.#os = options.os ?? Deno.build.os;
    this.#memory = options.memory;
  }

  /** Runs `spec` to completion; failures to start and non-zero exits are results, not errors. */
  async run(
    spec: ProcessSpec,
    options: RunProcessOptions,
  ): Promise<ProcessResult> {
    const startedAt = performance.now();
    const tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES;
    const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    const drain: DrainPolicy = options.drain ?? "eof";
    checkNonNegativeInteger("tailBytes", tailBytes);
    checkNonNegativeInteger("killGraceMs", killGraceMs);
    if (drain !== "eof") checkNonNegativeInteger("boundedMs", drain.boundedMs);
    if (options.timeoutMs !== undefined) {
      checkNonNegativeInteger("timeoutMs", options.timeoutMs);
    }

    const sink: OutputSink = options.output === "collect"
      ? new CollectSink()
      : new TailSink(tailBytes, options.onLine);

    if (options.signal?.aborted) {
      return finalResult(sink, {
        exitCode: null,
        signal: null,
        success: false,
        timedOut: false,
        interrupted: true,
        outputComplete: true,
        durationMs: performance.now() - startedAt,
      });
    }

    const { command, args } = spec.kind === "shell"
      ? platformShell(spec.script, this.#os)
      : argvCommand(spec.argv);
    const isWindows = this.#os === "windows";

    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command, {
        args,
        cwd: options.cwd,
        env: options.env,
        clearEnv: options.clearEnv,
        stdin: options.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        // Its own session and process group, so that one signal to the group
        // reaches every descendant that did not detach itself.
        detached: !isWindows,
        windowsRawArguments: isWindows && spec.kind === "shell",
      }).spawn();
    } catch (error) {
      const reason = errorMessage(error);
      sink.write(
        new TextEncoder().encode(`cannot start "${command}": ${reason}`),
        "stderr",
      );
      sink.finish();
      return finalResult(sink, {
        exitCode: CANNOT_START_EXIT_CODE,
        signal: null,
        success: false,
        timedOut: false,
        interrupted: false,
        outputComplete: true,
        durationMs: performance.now() - startedAt,
      });
    }

    let spawnCallbackError: unknown;
    try {
      options.onSpawn?.(child.pid);
    } catch (error) {
      // The process runs already: it is waited for, and the error thrown after.
      spawnCallbackError = error;
    }

    const transfers = [
      readInto(
        child.stdout,
        (chunk) => sink.write(chunk, "stdout"),
        this.#memory,
      ),
      readInto(
        child.stderr,
        (chunk) => sink.write(chunk, "stderr"),
        this.#memory,
      ),
    ];
    if (options.stdin !== undefined) {
      transfers.push(writeAndClose(child.stdin, options.stdin));
    }
    const allDone = Promise.all(transfers.map((transfer) => transfer.done));

    let exited = false;
    let stopReason: "timeout" | "abort" | undefined;
    let termination: Promise<void> | undefined;
    let killError: unknown;
    let onStop = () => {};
    const stopped = new Promise<void>((resolve) => onStop = resolve);
    const stop = (reason: "timeout" | "abort") => {
      if (stopReason !== undefined) return;
      // After the exit only the group is left (Unix); a Windows pid may be reused at once.
      if (exited && isWindows) return;
      stopReason = reason;
      // Caught at once so a failed kill is not an unhandled rejection before
      // run() gets to await it.
      termination =
        (isWindows
          ? killWindowsTree(child.pid)
          : killProcessGroup(child.pid, killGraceMs)).catch((error) => {
            killError = error;
          });
      onStop();
    };
    const timeout = options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => stop("timeout"), options.timeoutMs);
    const onAbort = () => stop("abort");
    options.signal?.addEventListener("abort", onAbort, { once: true });

    let status: Deno.CommandStatus;
    let outputComplete = false;
    try {
      status = await child.status;
      exited = true;
      if (drain === "eof" && stopReason === undefined) {
        // The timeout and the abort signal keep watching: a child holding the
        // pipes is killed with its group, and the command counts as stopped.
        outputComplete = await Promise.race([
          allDone.then(() => true),
          stopped.then(() => false),
        ]);
      }
    } finally {
      exited = true;
      clearTimeout(timeout);
      options.signal?.removeEventListener("abort", onAbort);
    }

    if (!outputComplete) {
      if (stopReason !== undefined) {
        // Descendants that ignore SIGTERM must not outlive a stopped command.
        await termination;
        outputComplete = await finishTransfers(transfers, KILLED_DRAIN_MS);
      } else {
        const boundedMs = drain === "eof" ? 0 : drain.boundedMs;
        outputComplete = await finishTransfers(transfers, boundedMs);
        if (!outputComplete) sink.note(OUTPUT_NOT_COLLECTED_NOTE);
      }
    }
    await termination;
    sink.finish();

    const failure = spawnCallbackError ?? killError ??
      transfers.find((transfer) => transfer.error !== undefined)?.error ??
      sink.callbackError;
    if (failure !== undefined) throw failure;

    const timedOut = stopReason === "timeout";
    const interrupted = stopReason === "abort";
    return finalResult(sink, {
      exitCode: status.signal === null ? status.code : null,
      signal: status.signal,
      success: status.success && !timedOut && !interrupted &&
        (outputComplete || drain !== "eof"),
      timedOut,
      interrupted,
      outputComplete,
      durationMs: performance.now() - startedAt,
    });
  }
}

function argvCommand(
  argv: readonly string[],
): { command: string; args: string[] } {
  const [command, ...args] = argv;
  if (command === undefined) {
    throw new TypeError("Cannot run an empty argv");
  }
  return { command, args };
}

function checkNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot run process: ${name} must be a non-negative integer, got ${value}`,
    );
  }
}

type ResultFields = Omit<
  ProcessResult,
  "stdout" | "stderr" | "output" | "truncated"
>;

function finalResult(sink: OutputSink, fields: ResultFields): ProcessResult {
  return { ...fields, ...sink.result() };
}
