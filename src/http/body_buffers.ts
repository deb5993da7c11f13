/**
 * Buffers for webhook bodies, lent to the requests that hold a body-read
 * slot and reused by the next one. A burst of large bodies then allocates no
 * more buffers than there are slots, once: a buffer per body (and chunks per
 * read) fragment the allocator's heap, which then keeps the burst's memory.
 * The buffers are kept while the daemon runs; only the pages a body touched
 * are resident, so small bodies cost little.
 */
export class BodyBuffers {
  #free: Uint8Array<ArrayBuffer>[] = [];

  /** `size`: bytes of each buffer; one more than the largest body detects a larger one. */
  constructor(readonly size: number) {}

  /** A buffer of `size` bytes: a returned one, or a new one. */
  take(): Uint8Array<ArrayBuffer> {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /** Returns a buffer (the one `take` gave, or what reading into it left) for the next request. */
  give(buffer: Uint8Array<ArrayBuffer>): void {
    if (buffer.buffer.byteLength === this.size) {
      this.#free.push(new Uint8Array(buffer.buffer));
    }
  }
}
