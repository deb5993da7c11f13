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
