import { escapeControl } from "../log/escape.ts";
import { writeAll } from "../log/write_all.ts";
import { shortCommit } from "../git/commit_id.ts";

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

/** A commit id shortened for a table cell; `-` when absent. */
export function commitCell(commit: string | null | undefined): string {
  return commit ? shortCommit(commit) : "-";
}

/** Pretty JSON with a trailing newline, the form every `--json` prints. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
