import type { ConfigWarning } from "../config/types.ts";
import type { Logger } from "./logging.ts";

/** Logs configuration warnings as `file:line: message`, with extra fields (the service) on every line. */
export function logConfigWarnings(
  logger: Logger,
  warnings: readonly ConfigWarning[],
  fields: Record<string, unknown> = {},
): void {
  for (const warning of warnings) {
    logger.warn("{file}:{line}: {message}", {
      ...warning,
      ...fields,
      line: warning.line ?? "?",
    });
  }
}
