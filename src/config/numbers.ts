/**
 * Strict decimal numbers for the command line: `0x1`, `1e3`, ` 5`, `Infinity`
 * and values outside the range are refused, with a reason naming the limits.
 */

/** Shortest poll interval accepted, in seconds: less is a busy loop, not a poll. */
export const MIN_INTERVAL_SECONDS = 0.01;

/** Longest interval or timeout, in seconds: timers hold at most 2^31-1 ms. */
export const MAX_SECONDS = 2_147_483;

/** Largest `history --limit`. */
export const MAX_HISTORY_LIMIT = 1_000_000;

/** What {@link parseDecimal} gives: the number, or why the text is not one. */
export type ParsedNumber =
  | { ok: true; value: number }
  | { ok: false; reason: string };

/** Range and kind of number {@link parseDecimal} accepts. */
export interface DecimalRule {
  /** Whole numbers only (ids, counts). */
  integer: boolean;
  min: number;
  max: number;
}

const INTEGER = /^[0-9]+$/;
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/** Parses `text` as a plain decimal (digits, one optional fraction) within `rule`'s range. */
export function parseDecimal(text: string, rule: DecimalRule): ParsedNumber {
  const shown = JSON.stringify(
    text.length > 40 ? `${text.slice(0, 37)}...` : text,
  );
  const kind = rule.integer ? "a whole number" : "a number";
  if (!(rule.integer ? INTEGER : DECIMAL).test(text)) {
    return {
      ok: false,
      reason: `${shown} is not ${kind} (write decimal digits${
        rule.integer ? "" : ", e.g. 30 or 0.5"
      })`,
    };
  }
  const value = Number(text);
  if (!(value >= rule.min && value <= rule.max)) {
    return {
      ok: false,
      reason:
        `${shown} is out of range: must be ${kind} from ${rule.min} to ${rule.max}`,
    };
  }
  return { ok: true, value };
}
