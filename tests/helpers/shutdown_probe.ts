/**
 * A tiny program for the signal tests: listens for stop signals with a short
 * grace period (the real 30 s is too slow to test), runs `sleep 30` under the
 * kill signal, and prints what happened as one JSON line.
 *
 * Usage: deno run -A shutdown_probe.ts GRACE_MS
 */
import { listenForShutdown } from "../../src/cli/signals.ts";
import { agentLogger } from "../../src/log/logging.ts";
import { DenoProcessRunner } from "../../src/process/run_process.ts";

const encoder = new TextEncoder();
const print = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

const graceMs = Number(Deno.args[0]);
using shutdown = listenForShutdown(agentLogger(), { graceMs });
let stoppedAt: number | undefined;
let killedAt: number | undefined;
shutdown.stop.addEventListener("abort", () => stoppedAt = performance.now());
shutdown.kill.addEventListener("abort", () => killedAt = performance.now());

const running = new DenoProcessRunner().run(
  { kind: "shell", script: "sleep 30" },
  { output: "tail", signal: shutdown.kill, killGraceMs: 1000 },
);
print("ready\n");
const result = await running;
print(
  JSON.stringify({
    stopped: shutdown.stop.aborted,
    killed: shutdown.kill.aborted,
    interrupted: result.interrupted,
    graceMs: stoppedAt !== undefined && killedAt !== undefined
      ? killedAt - stoppedAt
      : null,
  }) + "\n",
);
