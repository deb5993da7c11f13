/** How times and durations read in documents and tables. */

/** Epoch milliseconds as an ISO 8601 string (JSON), or null. */
export function isoTime(ms: number): string;
export function isoTime(ms: number | null | undefined): string | null;
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** Epoch milliseconds as `2026-11-26T15:04:05Z` (ISO 8601, UTC, whole seconds) for tables; `-` when absent. */
export function tableTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

/** A duration in milliseconds as `850ms`, `12.3s` or `4m05s`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${
    String(seconds % 60).padStart(2, "0")
  }s`;
}
