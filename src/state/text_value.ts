/**
 * Text that SQLite keeps whole. A TEXT value read back ends at its first NUL
 * character, so text holding one is stored as a BLOB of its UTF-8 bytes
 * instead; any other text stays TEXT, readable with the `sqlite3` shell.
 */
import type { SQLInputValue } from "node:sqlite";

/** The value to bind for `text` so that every character survives. */
export function storedText(text: string): string | Uint8Array {
  return text.includes("\0") ? new TextEncoder().encode(text) : text;
}

/** The inverse of {@link storedText} (old rows are plain TEXT). */
export function readStoredText(value: SQLInputValue | undefined): string {
  if (value instanceof Uint8Array) {
    return new TextDecoder("utf-8", { ignoreBOM: true }).decode(value);
  }
  return String(value);
}

/** Like {@link readStoredText}, with NULL as null. */
export function readNullableStoredText(
  value: SQLInputValue | undefined,
): string | null {
  return value === null || value === undefined ? null : readStoredText(value);
}
