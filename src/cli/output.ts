import { escapeControl } from "../log/escape.ts";
import { writeAll } from "../log/write_all.ts";
/** Where a command writes its results; stdout in production, captured in tests. */
export interface Output {
  /** Writes text to standard output (results: tables, JSON). */
  out(text: string): void;
  /** Writes text to standard error (problems meant for a human). */
  err(text: string): void;
}

/** Output bound to the process's real stdout and stderr. */
export function processOutput(): Output {
  const encoder = new TextEncoder();
  const write = (file: typeof Deno.stdout, text: string) =>
    writeAll(file, encoder.encode(text));
  return {
    out: (text) => write(Deno.stdout, text),
    err: (text) => write(Deno.stderr, text),
  };
}

/** Renders rows as a left-aligned text table with a header. */
export function renderTable(
  header: readonly string[],
  cells: readonly (readonly string[])[],
): string {
  // Names and reasons come from the repository: shown, never obeyed.
  const rows = cells.map((row) => row.map((cell) => escapeControl(cell)));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) =>
      column === cells.length - 1 ? cell : cell.padEnd(widths[column])
    ).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** A commit id shortened for tables; `-` when absent. */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 12) : "-";
}

/** Epoch milliseconds as an ISO 8601 string (JSON), or null. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** Epoch milliseconds as `2026-11-26 15:04:05Z` for tables; `-` when absent. */
export function tableTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ") + "Z";
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

/** Pretty JSON with a trailing newline, the form every `--json` prints. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
