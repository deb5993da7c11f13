/** The numbers the command line takes, parsed strictly (docs/commands.md#numbers-on-the-command-line). */
import { InvalidArgumentError } from "commander";
import {
  type DecimalRule,
  MAX_HISTORY_LIMIT,
  MAX_SECONDS,
  MIN_INTERVAL_SECONDS,
  parseDecimal,
} from "../config/numbers.ts";

/** A commander argument parser for a strict decimal within `rule` (refusals name the option). */
function decimal(rule: DecimalRule): (value: string) => number {
  return (value) => {
    const parsed = parseDecimal(value, rule);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.reason);
    return parsed.value;
  };
}

/** `--interval <seconds>`. */
export const INTERVAL_SECONDS = decimal({
  integer: false,
  min: MIN_INTERVAL_SECONDS,
  max: MAX_SECONDS,
});
/** `history --limit <n>`. */
export const HISTORY_LIMIT = decimal({
  integer: true,
  min: 1,
  max: MAX_HISTORY_LIMIT,
});
/** `logs <run-id>`. */
export const RUN_ID = decimal({
  integer: true,
  min: 1,
  max: Number.MAX_SAFE_INTEGER,
});
