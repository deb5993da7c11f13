/**
 * Numbers as SOPS writes them in its plain formats (dotenv, INI, a value's
 * text).
 * @module
 */

/** A number in plain decimal, never in exponent form (Go's FormatFloat 'f', -1). */
export function decimalText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toLocaleString("en-US", {
    useGrouping: false,
    maximumFractionDigits: 100,
  });
}
