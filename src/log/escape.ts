/**
 * Escaping for text meant for a terminal: hook output and names from a
 * repository may hold ANSI/OSC sequences (clear screen, window title) or
 * newlines that would forge log lines; JSON output never goes through this.
 */

/** Options of {@link escapeControl}. */
export interface EscapeOptions {
  /** Keep `\n` (and `\r\n`) and tabs: for hook output, shown line by line. */
  keepNewlines?: boolean;
}

const NAMED: Record<string, string> = {
  "\0": "\\0",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

// C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals),
// and the Unicode line and paragraph separators.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const CONTROL_EXCEPT_LINES =
  // deno-lint-ignore no-control-regex
  /\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]/g;

/** `text` with every control character written as an escape (`\x1b`, `\n`, `\u2028`), so a terminal shows it instead of obeying it. */
export function escapeControl(
  text: string,
  options: EscapeOptions = {},
): string {
  const pattern = options.keepNewlines ? CONTROL_EXCEPT_LINES : CONTROL;
  return text.replace(pattern, (char) => {
    const named = NAMED[char];
    if (named) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
