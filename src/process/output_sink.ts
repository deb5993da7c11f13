/** Where a command's output goes while it runs: kept whole (for git) or as a bounded tail with live lines (for hooks). */
import { LineSplitter } from "./line_splitter.ts";
import { TailBuffer } from "./tail_buffer.ts";
import type { ProcessResult } from "./types.ts";

/** Which pipe a chunk came from. */
export type OutputStream = "stdout" | "stderr";

/** Where output goes while the process runs. */
export interface OutputSink {
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
export class CollectSink implements OutputSink {
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
export class TailSink implements OutputSink {
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
