/**
 * When memory could be given back, and the one way it is. Pipe buffers of
 * spawned processes and webhook bodies are external memory that only a major
 * garbage collection returns; V8 alone lets it pile up towards its heap
 * limit. Code that frees such memory says so through {@link MemoryPressure};
 * only the daemon loop listens, and collects (docs/performance.md#memory).
 * @module
 */

/** Output read between two collections while a command floods output. */
const COLLECT_EVERY_BYTES = 2 * 1024 * 1024;

/** Tells whoever collects garbage that a collection would give memory back now. */
export class MemoryPressure {
  readonly #listeners = new Set<() => void>();
  #readSinceFreed = 0;

  /** Calls `listener` whenever memory was freed; returns the unsubscribe function. */
  onFreed(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Memory worth collecting is garbage now (a burst of webhook bodies is over). */
  freed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** `bytes` of a child's output were read and handed on: every 2 MiB of them is {@link freed}. */
  read(bytes: number): void {
    this.#readSinceFreed += bytes;
    if (this.#readSinceFreed < COLLECT_EVERY_BYTES) return;
    this.#readSinceFreed = 0;
    this.freed();
  }
}

/**
 * Runs a major garbage collection when V8 exposes it (`--v8-flags=--expose-gc`,
 * set by the start task and the compiled binaries; see scripts/permissions.ts)
 * and does nothing otherwise. With a heap of a few MB it takes about a
 * millisecond. Called by the daemon loop alone.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
