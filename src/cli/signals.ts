import type { Logger } from "../log/logging.ts";

/** How long a running command may finish after a stop signal before it is killed (docs/design.md#stopping). */
export const SHUTDOWN_GRACE_MS = 30_000;

/**
 * Signals that ask the agent to stop on this platform (Windows cannot listen
 * for SIGTERM). SIGHUP (terminal closed, or sent by an operator) and SIGQUIT
 * (Ctrl-\, or a supervisor's graceful stop as for nginx) stop it the same way,
 * rather than dying with the run left `running` or being ignored.
 */
export function stopSignals(
  os: typeof Deno.build.os = Deno.build.os,
): Deno.Signal[] {
  return os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];
}

/** A graceful stop: `stop` aborts on the first signal, `kill` after the grace period or a second signal. */
export interface Shutdown extends Disposable {
  stop: AbortSignal;
  kill: AbortSignal;
}

/** Listens for stop signals for the life of the returned object. */
export function listenForShutdown(
  logger: Logger,
  options: { graceMs?: number; os?: typeof Deno.build.os } = {},
): Shutdown {
  const stop = new AbortController();
  const kill = new AbortController();
  const graceMs = options.graceMs ?? SHUTDOWN_GRACE_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onSignal = () => {
    if (stop.signal.aborted) {
      logger.warn("second stop signal: killing the running command now");
      kill.abort();
      return;
    }
    logger.info(
      "stopping: no new cycles; a running command gets {seconds} s to finish",
      { seconds: graceMs / 1000 },
    );
    stop.abort();
    timer = setTimeout(() => kill.abort(), graceMs);
  };
  const signals = stopSignals(options.os);
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return {
    stop: stop.signal,
    kill: kill.signal,
    [Symbol.dispose]() {
      clearTimeout(timer);
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    },
  };
}
