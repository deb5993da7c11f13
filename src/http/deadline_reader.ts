/** Reads and writes on one connection under deadlines; a passed deadline closes the connection. */

const READ_CHUNK_BYTES = 16 * 1024;

/** Thrown when a deadline closed the connection. */
export class DeadlineError extends Error {}

/** Reads from a connection with deadlines; a deadline closes the connection. */
export class DeadlineReader {
  #buffer = new Uint8Array(0);
  #closed = false;
  constructor(readonly conn: Deno.Conn) {}

  get buffered(): Uint8Array {
    return this.#buffer;
  }

  /** Drops `count` bytes from the front of the buffer. */
  consume(count: number): Uint8Array {
    const taken = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  /** Reads more bytes; false at end of stream. Rejects with DeadlineError after `deadline`. */
  async fill(deadline: number): Promise<boolean> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, remaining);
    try {
      const count = await this.conn.read(chunk);
      if (count === null) return false;
      const joined = new Uint8Array(this.#buffer.byteLength + count);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, count), this.#buffer.byteLength);
      this.#buffer = joined;
      return true;
    } catch (error) {
      if (expired) throw new DeadlineError("deadline passed");
      // A reset or a connection closed under us reads as the end of the stream.
      if (isConnectionGone(error)) return false;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads at most `size` bytes past the (empty) buffer; null at end of stream. */
  async readDirect(size: number, deadline: number): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(size);
    const count = await this.readInto(chunk, deadline);
    return count === null ? null : chunk.subarray(0, count);
  }

  /** Reads past the (empty) buffer straight into `view`: the count, or null at end of stream. */
  async readInto(view: Uint8Array, deadline: number): Promise<number | null> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, remaining);
    try {
      return await this.conn.read(view);
    } catch (error) {
      if (expired) throw new DeadlineError("deadline passed");
      if (isConnectionGone(error)) return null;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes everything before `deadline`, else closes the connection. */
  async writeAll(bytes: Uint8Array, deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    const timer = setTimeout(() => this.close(), remaining);
    try {
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await this.conn.write(bytes.subarray(offset));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  #expire(): DeadlineError {
    this.close();
    return new DeadlineError("deadline passed");
  }
}

/** True for the errors a read or write gets when the peer or a deadline closed the socket. */
export function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected;
}
