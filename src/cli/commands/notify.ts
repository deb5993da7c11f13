import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app/compose.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import { testEvent } from "../../notify/event.ts";
import { REQUEST_TIMEOUT_MS, sendNotification } from "../../notify/queue.ts";
import { resolveTargets } from "../../notify/target.ts";
import type { Output } from "../output.ts";

/** `notify test`: sends a test message to every notify target once and reports each result. */
export async function notifyTestCommand(
  app: App,
  output: Output,
): Promise<number> {
  const targets = resolveTargets(app.config.current.notify, {
    env: (name) => Deno.env.get(name),
    file: app.config.file,
  });
  if (targets.length === 0) {
    throw new UsageError(
      `no notification targets configured (add notify: to ${app.config.file})`,
    );
  }
  const event = testEvent({ host: app.host, now: Date.now });
  // One attempt each, all at once: the operator wants the answer now, not after retries.
  const results = await Promise.all(
    targets.map((target) =>
      sendNotification(target, event, { timeoutMs: REQUEST_TIMEOUT_MS })
    ),
  );
  let failed = 0;
  results.forEach((result, index) => {
    const label = targets[index].label;
    if (result.kind === "delivered") {
      output.out(
        escapeControl(`ok      ${label} (HTTP ${result.status})`) + "\n",
      );
    } else {
      failed++;
      output.out(escapeControl(`failed  ${label}: ${result.error}`) + "\n");
    }
  });
  if (failed > 0) {
    output.err(
      `upstream-watch: ${failed} of ${targets.length} notification target(s) failed\n`,
    );
    return ExitCode.updateFailed;
  }
  return ExitCode.ok;
}
