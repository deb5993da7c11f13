/** Hiding decrypted secret values in hook output before it is logged or stored. */

/** The replacement of a masked value. */
export const MASK = "***";

/** `text` with every occurrence of each value replaced by `***` (longest values first). */
export function maskSecrets(text: string, values: readonly string[]): string {
  let masked = text;
  for (const value of values) {
    if (value !== "" && masked.includes(value)) {
      masked = masked.replaceAll(value, MASK);
    }
  }
  return masked;
}
