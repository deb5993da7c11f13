import type { App } from "../../app.ts";
import { ExitCode } from "../../errors.ts";
import { escapeControl } from "../../log/escape.ts";
import { verificationResetEvent } from "../../notify/event.ts";
import { REQUEST_TIMEOUT_MS, sendNotification } from "../../notify/queue.ts";
import { resolveTargets, subscribes } from "../../notify/target.ts";
import { forgetVerification } from "../../state/verification_records.ts";
import { describe } from "../../verify/settings_in_effect.ts";
import type { Output } from "../output.ts";

/**
 * `verify-reset [--reason TEXT]`: forgets the verification settings recorded
 * in the state file, so that the deployed configuration (or the command line)
 * may lower or switch off verification. Logged and notified.
 */
export async function verifyResetCommand(
  app: App,
  options: { reason?: string },
  output: Output,
): Promise<number> {
  const reason = options.reason?.trim() || null;
  const recorded = forgetVerification(app.store);
  if (!recorded) {
    output.out("no verification settings were recorded; nothing to reset\n");
    return ExitCode.ok;
  }
  const was = describe({
    kind: recorded.kind === "gpg" ? "gpg" : "ssh",
    path: recorded.path,
    mode: recorded.mode === "all" ? "all" : "head",
  });
  app.logger.warn(
    "verify-reset: forgot the recorded verification settings {settings}{reason}; the deployed configuration or the command line decides from now on",
    { settings: was, reason: reason ? ` (${reason})` : "" },
  );
  const now = app.verifier.config;
  output.out(
    escapeControl(
      `forgot the recorded ${was}; verification is now ${
        now ? `on with ${describe(now)} from ${now.source}` : "off"
      }`,
    ) + "\n",
  );
  await notifyReset(app, { was, reason }, output);
  return ExitCode.ok;
}

/** One attempt per subscribed target: the command ends, no queue outlives it. */
async function notifyReset(
  app: App,
  change: { was: string; reason: string | null },
  output: Output,
): Promise<void> {
  const targets = resolveTargets(app.config.notify, {
    env: (name) => Deno.env.get(name),
    file: app.configFile,
  }).filter((target) => subscribes(target, "verification_reset"));
  const event = verificationResetEvent(change, {
    host: app.host,
    now: Date.now,
  });
  const results = await Promise.all(
    targets.map((target) =>
      sendNotification(target, event, { timeoutMs: REQUEST_TIMEOUT_MS })
    ),
  );
  results.forEach((result, index) => {
    if (result.kind === "delivered") return;
    output.err(
      escapeControl(
        `upstream-watch: warning: verification_reset not delivered to ${
          targets[index].label
        }: ${result.error}`,
      ) + "\n",
    );
  });
}
