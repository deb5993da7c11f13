import { collectGarbage } from "./memory.ts";
import { join } from "node:path";
import type {
  DrainPolicy,
  ProcessResult,
  ProcessRunner,
  ProcessSpec,
  RunProcessOptions,
} from "./types.ts";

/** How often to check whether a signalled process group is gone. */
const GROUP_POLL_MS = 25;
/** Linux's process table, read for a process's start time. */
const PROC_DIR = "/proc";

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
type OutputStream = "stdout" | "stderr";

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

/** Command that force-kills a Windows process and all its descendants. */
export function killTreeCommand(
  pid: number,
): { command: string; args: string[] } {
  return { command: "taskkill", args: ["/T", "/F", "/PID", String(pid)] };
}

/** {@link ProcessRunner} over `Deno.Command` that kills whole process trees. */
export class DenoProcessRunner implements ProcessRunner {
  readonly #os: OperatingSystem;

  constructor(options: { os?: OperatingSystem } = {}) {
    this.#os = options.os ?? Deno.build.os;
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
      const reason = error instanceof Error ? error.message : String(error);
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
      readInto(child.stdout, (chunk) => sink.write(chunk, "stdout")),
      readInto(child.stderr, (chunk) => sink.write(chunk, "stderr")),
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

/** Sends `signal` to process group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: Deno.Signal | 0): boolean {
  try {
    Deno.kill(-pgid, signal as Deno.Signal);
    return true;
  } catch (error) {
    if (isNoSuchProcess(error)) return false;
    throw error;
  }
}

/** True while process group `pgid` has a member (a zombie not yet reaped counts). */
export function processGroupExists(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** SIGTERM to the group, then SIGKILL once the grace period is over if any member is left. */
export async function killProcessGroup(
  pgid: number,
  graceMs: number,
): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = performance.now() + graceMs;
  // Polled rather than one long timer so the caller goes on as soon as the
  // group is gone instead of always waiting out the grace period.
  while (performance.now() < deadline) {
    if (!signalGroup(pgid, 0)) return;
    await delay(Math.min(GROUP_POLL_MS, deadline - performance.now()));
  }
  signalGroup(pgid, "SIGKILL");
}

/**
 * When process `pid` started, as an opaque token (Linux: field 22 of
 * `/proc/PID/stat`, clock ticks since boot); undefined where it cannot be read.
 * A pid is reused after its process ended: the same pid with another start
 * time is another process.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(join(PROC_DIR, String(pid), "stat"));
    // The command name in parentheses may hold spaces; fields follow the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After ")": field 3 (state) is index 0, so field 22 is index 19.
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * True when process group `pgid` still exists and is the one whose leader
 * started at `startTime`. The kernel never hands out a pid that is still a live
 * group's id, so a group without its leader is still the original one; a
 * leader with another start time means the pid was reused.
 */
export function isSameProcessGroup(
  pgid: number,
  startTime: string | null,
): boolean {
  if (!processGroupExists(pgid)) return false;
  const leaderStart = processStartTime(pgid);
  if (leaderStart === undefined || startTime === null) return true;
  return leaderStart === startTime;
}

function isNoSuchProcess(error: unknown): boolean {
  // Deno reports ESRCH as NotFound.
  return error instanceof Deno.errors.NotFound;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function killWindowsTree(pid: number): Promise<void> {
  const { command, args } = killTreeCommand(pid);
  try {
    await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // The tree may be gone already; the process status still tells the caller.
  }
}

/** A stream being read or written; never rejects, keeps an unexpected failure in `error`. */
interface Transfer {
  readonly done: Promise<void>;
  readonly error?: unknown;
  /** Stops the transfer early and releases its pipe. */
  cancel(): Promise<void>;
}

/** Output read between two garbage collections while a command floods output. */
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

function readInto(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): Transfer {
  const reader = stream.getReader();
  let failure: unknown;
  let sinceCollection = 0;
  const done = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        onChunk(value);
        // A flood of output leaves read buffers behind faster than V8 frees them.
        sinceCollection += value.byteLength;
        if (sinceCollection >= COLLECT_EVERY_BYTES) {
          sinceCollection = 0;
          collectGarbage();
        }
      }
    } catch (error) {
      failure = error;
      await reader.cancel().catch(() => {});
    }
  })();
  return {
    done,
    get error() {
      return failure;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

function writeAndClose(
  stream: WritableStream<Uint8Array>,
  text: string,
): Transfer {
  const writer = stream.getWriter();
  return {
    done: (async () => {
      try {
        await writer.write(new TextEncoder().encode(text));
        await writer.close();
      } catch {
        // The process may exit or close stdin without reading it all; its exit
        // status is what the caller judges, not our broken pipe.
      }
    })(),
    cancel: () => writer.abort().catch(() => {}),
  };
}

/** Waits for the pipes to end, but at most `graceMs`, then cancels them; true when they all ended. */
async function finishTransfers(
  transfers: Transfer[],
  graceMs: number,
): Promise<boolean> {
  const allDone = Promise.all(transfers.map((transfer) => transfer.done));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), graceMs);
  });
  const outcome = await Promise.race([
    allDone.then(() => "done" as const),
    late,
  ]);
  clearTimeout(timer);
  if (outcome === "late") {
    await Promise.all(transfers.map((transfer) => transfer.cancel()));
    await allDone;
    return false;
  }
  return true;
}

/** Where output goes while the process runs. */
interface OutputSink {
  write(chunk: Uint8Array, stream: OutputStream): void;
  /** Adds a line of the runner's own to the output (e.g. why it is incomplete). */
  note(text: string): void;
  /** Flushes partial lines; called once after the streams ended. */
  finish(): void;
  /** First error thrown by a caller's callback, if any. */
  readonly callbackError: unknown;
  result(): Pick<ProcessResult, "stdout" | "stderr" | "output" | "truncated">;
}

/** Keeps stdout and stderr whole and apart. */
class CollectSink implements OutputSink {
  readonly #chunks: Record<OutputStream, Uint8Array[]> = {
    stdout: [],
    stderr: [],
  };
  readonly callbackError: unknown = undefined;

  write(chunk: Uint8Array, stream: OutputStream): void {
    this.#chunks[stream].push(chunk);
  }

  note(text: string): void {
    // Kept apart from what git wrote on stdout, which callers parse.
    this.#chunks.stderr.push(new TextEncoder().encode(`\n${text}\n`));
  }

  finish(): void {}

  result() {
    return {
      stdout: decodeChunks(this.#chunks.stdout),
      stderr: decodeChunks(this.#chunks.stderr),
      output: "",
      truncated: false,
    };
  }
}

function decodeChunks(chunks: Uint8Array[]): string {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let text = "";
  for (const chunk of chunks) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** Combines both streams into a bounded tail and reports lines as they complete. */
class TailSink implements OutputSink {
  readonly #tail: TailBuffer;
  readonly #lines: Record<OutputStream, LineSplitter> | undefined;
  #callbackError: unknown = undefined;
  #endsWithNewline = true;

  constructor(
    tailBytes: number,
    onLine: ((line: string, stream: OutputStream) => void) | undefined,
  ) {
    this.#tail = new TailBuffer(tailBytes);
    if (onLine !== undefined) {
      const maxLineLength = Math.max(tailBytes, 1);
      const emitFor = (stream: OutputStream) => (line: string) => {
        // A throwing callback is a bug, but the pipes must still be drained or
        // the child blocks on a full pipe; the error is rethrown at the end.
        if (this.#callbackError !== undefined) return;
        try {
          onLine(line, stream);
        } catch (error) {
          this.#callbackError = error;
        }
      };
      this.#lines = {
        stdout: new LineSplitter(maxLineLength, emitFor("stdout")),
        stderr: new LineSplitter(maxLineLength, emitFor("stderr")),
      };
    }
  }

  get callbackError(): unknown {
    return this.#callbackError;
  }

  write(chunk: Uint8Array, stream: OutputStream): void {
    this.#tail.push(chunk);
    this.#lines?.[stream].push(chunk);
    if (chunk.length > 0) this.#endsWithNewline = chunk.at(-1) === 0x0a;
  }

  note(text: string): void {
    // Only into the stored tail: the live log gets no line the command did not write.
    const line = `${this.#endsWithNewline ? "" : "\n"}${text}\n`;
    this.#tail.push(new TextEncoder().encode(line));
    this.#endsWithNewline = true;
  }

  finish(): void {
    this.#lines?.stdout.finish();
    this.#lines?.stderr.finish();
  }

  result() {
    return {
      stdout: "",
      stderr: "",
      output: this.#tail.text(),
      truncated: this.#tail.truncated,
    };
  }
}

/**
 * Ring buffer holding the last `capacity` bytes written to it. It grows up to
 * `capacity` as needed and never beyond, whatever the process writes.
 */
export class TailBuffer {
  readonly #capacity: number;
  #bytes: Uint8Array;
  #start = 0;
  #length = 0;
  #truncated = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#bytes = new Uint8Array(Math.min(capacity, 4096));
  }

  /** True once bytes were dropped from the front. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Appends `chunk`, dropping the oldest bytes beyond the capacity. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.#capacity) {
      this.#truncated ||= this.#length > 0 || chunk.length > this.#capacity;
      this.#grow(this.#capacity);
      this.#bytes.set(chunk.subarray(chunk.length - this.#capacity));
      this.#start = 0;
      this.#length = this.#capacity;
      return;
    }
    const needed = this.#length + chunk.length;
    if (needed > this.#bytes.length) {
      this.#grow(
        Math.min(this.#capacity, Math.max(needed, this.#bytes.length * 2)),
      );
    }
    const size = this.#bytes.length;
    const overflow = this.#length + chunk.length - size;
    if (overflow > 0) {
      this.#start = (this.#start + overflow) % size;
      this.#length -= overflow;
      this.#truncated = true;
    }
    const end = (this.#start + this.#length) % size;
    const firstPart = Math.min(chunk.length, size - end);
    this.#bytes.set(chunk.subarray(0, firstPart), end);
    this.#bytes.set(chunk.subarray(firstPart), 0);
    this.#length += chunk.length;
  }

  /** The kept bytes in order. */
  bytes(): Uint8Array {
    const size = this.#bytes.length;
    const out = new Uint8Array(this.#length);
    const firstPart = Math.min(this.#length, size - this.#start);
    out.set(this.#bytes.subarray(this.#start, this.#start + firstPart));
    out.set(this.#bytes.subarray(0, this.#length - firstPart), firstPart);
    return out;
  }

  /** The kept bytes as UTF-8, without a sequence cut in half at the front. */
  text(): string {
    let bytes = this.bytes();
    if (this.#truncated) {
      // The cut may have landed inside a multi-byte character: skip its
      // continuation bytes (at most three) rather than show a replacement char.
      let skip = 0;
      while (skip < 3 && skip < bytes.length && (bytes[skip] & 0xc0) === 0x80) {
        skip++;
      }
      bytes = bytes.subarray(skip);
    }
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  }

  #grow(size: number): void {
    if (size <= this.#bytes.length) return;
    // Only reached before the buffer ever wrapped (wrapping needs full
    // capacity), so the kept bytes start at 0.
    const next = new Uint8Array(size);
    next.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = next;
  }
}

/**
 * Splits one stream into lines. A line longer than `maxLineLength` is emitted
 * in pieces so that a process printing without newlines cannot grow memory.
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #maxLineLength: number;
  readonly #emit: (line: string) => void;
  #pending = "";

  constructor(maxLineLength: number, emit: (line: string) => void) {
    if (maxLineLength < 1) {
      throw new RangeError(
        `Cannot split lines: maxLineLength must be at least 1, got ${maxLineLength}`,
      );
    }
    this.#maxLineLength = maxLineLength;
    this.#emit = emit;
  }

  /** Feeds bytes; emits each line they complete. */
  push(chunk: Uint8Array): void {
    this.#consume(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Emits what is left as a last line. */
  finish(): void {
    this.#consume(this.#decoder.decode());
    if (this.#pending !== "") this.#emit(stripCarriageReturn(this.#pending));
    this.#pending = "";
  }

  #consume(decoded: string): void {
    const text = this.#pending + decoded;
    let lineStart = 0;
    let newline: number;
    while ((newline = text.indexOf("\n", lineStart)) !== -1) {
      this.#emit(stripCarriageReturn(text.slice(lineStart, newline)));
      lineStart = newline + 1;
    }
    let rest = text.slice(lineStart);
    while (rest.length > this.#maxLineLength) {
      let cut = this.#maxLineLength;
      // Keep surrogate pairs together.
      if (cut > 1 && isHighSurrogate(rest.charCodeAt(cut - 1))) cut--;
      this.#emit(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    this.#pending = rest;
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
