/** The `hook_files` table: parsed hook files saved so an unchanged HEAD needs no re-parse. */
import type { StateStore } from "./store.ts";

/** The part of the store these functions write through. */
type Store = Pick<StateStore, "statement" | "transaction">;

/** Parsed hook files saved by `parser` (this build's version), by key. */
export function readParsedHookFiles(
  store: Store,
  parser: string,
): Map<string, string> {
  const rows = store.statement(
    "SELECT key, parsed FROM hook_files WHERE parser = ?",
  ).all(parser) as { key: string; parsed: string }[];
  return new Map(rows.map((row) => [row.key, row.parsed]));
}

/** Replaces the saved parsed hook files with `files`. */
export function replaceParsedHookFiles(
  store: Store,
  parser: string,
  files: ReadonlyMap<string, string>,
): void {
  store.transaction(() => {
    store.statement("DELETE FROM hook_files").run();
    const insert = store.statement(
      "INSERT INTO hook_files (key, parser, parsed) VALUES (?, ?, ?)",
    );
    for (const [key, parsed] of files) insert.run(key, parser, parsed);
  });
}
