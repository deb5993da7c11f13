import { decodeUtf8Escaping } from "./utf8_escape.ts";

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

  /** The kept bytes as UTF-8 (other bytes as `\xNN`), without a sequence cut in half at the front. */
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
    return decodeUtf8Escaping(bytes);
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
