/**
 * How every hook command is started — update steps, health checks inside a
 * run and self-heal checks between cycles alike: its whole environment, its
 * deadline, its kill grace and when reading its output stops.
 * See docs/design.md#command-output.
 * @module
 */
import { hookEnvironment } from "../config/env_references.ts";
import type { HookCommand } from "../config/types.ts";
import type {
  ProcessResult,
  ProcessRunner,
  ProcessSpec,
} from "../process/types.ts";
import type { StepName } from "../state/types.ts";

/**
 * How long a hook's output is still read after the hook exited. A hook may
 * start a background process on purpose (`sleep 100 &`, a daemon) that keeps
 * the pipes open for ever; its later output is not waited for.
 */
export const HOOK_DRAIN_MS = 1000;
/** A health command still running at its deadline gets this long after SIGTERM before SIGKILL. */
export const HEALTH_KILL_GRACE_MS = 1000;

/** How a command is shown in logs and history: as written, a list JSON-encoded. */
export function displayCommand(command: HookCommand): string {
  return typeof command === "string" ? command : JSON.stringify(command);
}

/** The process a hook command becomes: a string through the platform shell, a list directly. */
export function commandSpec(command: HookCommand): ProcessSpec {
  return typeof command === "string"
    ? { kind: "shell", script: command }
    : { kind: "argv", argv: command };
}

/** One hook command to start. */
export interface HookProcessInput {
  step: StepName;
  command: HookCommand;
  cwd: string;
  /** The service's own `env`. */
  serviceEnv: Record<string, string>;
  /** `UPSTREAM_WATCH_*` variables; they win over the service's own `env`. */
  agentEnv: Record<string, string>;
  /** Variables of the agent's environment hooks do not inherit (those its configuration reads). */
  withheldEnv: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Bytes of combined output kept. */
  tailBytes: number;
  onLine: (line: string) => void;
  /** Called once the command started, with its pid (on Unix its process group id too). */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs one hook command. It ends when the command exits or its deadline
 * passes — never later because a background child it left still holds the
 * pipes: output is read for at most {@link HOOK_DRAIN_MS} after the exit.
 */
export function runHookProcess(
  runner: ProcessRunner,
  input: HookProcessInput,
): Promise<ProcessResult> {
  return runner.run(commandSpec(input.command), {
    cwd: input.cwd,
    // The whole environment is given: the agent's own secrets are left out.
    env: {
      ...hookEnvironment(
        Deno.env.toObject(),
        input.withheldEnv,
        input.serviceEnv,
      ),
      ...input.agentEnv,
      UPSTREAM_WATCH_STEP: input.step,
    },
    clearEnv: true,
    timeoutMs: input.timeoutMs,
    killGraceMs: input.step === "health" ? HEALTH_KILL_GRACE_MS : undefined,
    signal: input.signal,
    output: "tail",
    tailBytes: input.tailBytes,
    drain: { boundedMs: HOOK_DRAIN_MS },
    onSpawn: input.onSpawn,
    onLine: (line) => input.onLine(line),
  });
}
