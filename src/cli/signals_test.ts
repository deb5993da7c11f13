/** The signals that stop the agent on each platform (docs/design.md#stopping). */
import assert from "node:assert/strict";
import { stopSignals } from "./signals.ts";

Deno.test("Windows stops on Ctrl+C and Ctrl+Break, never SIGTERM (not listenable there)", () => {
  const windows = stopSignals("windows");
  assert.ok(!windows.includes("SIGTERM"));
  assert.deepEqual([...windows].sort(), ["SIGBREAK", "SIGINT"]);
});

Deno.test("Linux and macOS stop on SIGINT, SIGTERM, SIGHUP and SIGQUIT (systemd and docker send SIGTERM)", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.deepEqual([...stopSignals(os)].sort(), [
      "SIGHUP",
      "SIGINT",
      "SIGQUIT",
      "SIGTERM",
    ]);
  }
});

Deno.test("every stop signal of this platform can be listened to here", () => {
  const listener = () => {};
  for (const signal of stopSignals()) {
    Deno.addSignalListener(signal, listener);
    Deno.removeSignalListener(signal, listener);
  }
});
