/**
 * Runs a major garbage collection when V8 exposes it (`--v8-flags=--expose-gc`,
 * set by the start task and the compiled binaries; see scripts/permissions.ts)
 * and does nothing otherwise. Pipe buffers of spawned processes are external
 * memory that only a major GC returns; V8 alone lets it pile up towards its
 * heap limit, so a long-running daemon calls this between cycles and while a
 * command floods output. With a heap of a few MB it takes about a millisecond.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
