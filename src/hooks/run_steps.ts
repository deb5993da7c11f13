import type { HookCommand, ServiceConfig } from "../config/types.ts";
import type { Logger } from "../log/logging.ts";
import type { ProcessResult, ProcessRunner } from "../process/types.ts";
import { processStartTime } from "../process/run_process.ts";
import type {
  CommandRecord,
  ProcessGroupRecord,
  StepName,
} from "../state/types.ts";
import {
  type DecryptOutcome,
  decryptSecrets,
  type SecretsContext,
} from "./decrypt_step.ts";
import { maskSecrets } from "./mask_secrets.ts";
import { healthSettings, runHealthStep } from "./health_step.ts";
import { displayCommand, runHookProcess } from "./hook_process.ts";

export { commandSpec, displayCommand, HOOK_DRAIN_MS } from "./hook_process.ts";

/** Bytes of combined output kept per command (docs/design.md#command-output). */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

/** How a service's steps ended. */
export type StepsOutcome =
  | { kind: "succeeded" }
  | {
    kind: "failed";
    step: StepName;
    command: string;
    exitCode: number | null;
    timedOut: boolean;
    message: string;
  }
  | { kind: "interrupted"; step: StepName; command: string };

/** The outcome of a run whose hook file cannot be used: it fails at step `config` with `message`. */
export function configFailure(message: string): StepsOutcome {
  return {
    kind: "failed",
    step: "config",
    command: "",
    exitCode: null,
    timedOut: false,
    message,
  };
}

/** What running any hook command needs; the caller owns recording. */
export interface HookCommandContext {
  service: string;
  /** Absolute folder the commands run in. */
  cwd: string;
  /** `UPSTREAM_WATCH_*` variables; they win over the service's own `env`. */
  agentEnv: Record<string, string>;
  /** Variables of the agent's environment hooks do not inherit (those its configuration reads). */
  withheldEnv?: readonly string[];
  /** Per-command limit in milliseconds. */
  timeoutMs: number;
  /** Aborting stops the running command (killed with its children) and the sequence. */
  signal?: AbortSignal;
  runner: ProcessRunner;
  logger: Logger;
  now: () => number;
  /** Called when a command started, with its process group (Unix only; the caller stores it). */
  onCommandStarted?: (group: ProcessGroupRecord) => void;
  /** Called after each command with its record (the caller stores it). */
  onCommandFinished: (record: CommandRecord) => void;
}

/** Everything {@link runHookSteps} needs: the command context and the service's hook file. */
export interface HookStepsInput extends HookCommandContext {
  config: ServiceConfig;
  /** Where the service's SOPS files are read and written (step `decrypt`); undefined: none are. */
  secrets?: SecretsContext;
}

/** One hook command run and recorded, with the logger that carries its step. */
type CommandRun = (
  step: StepName,
  command: HookCommand,
  extraEnv?: Record<string, string>,
  timeoutMs?: number,
) => Promise<{ result: ProcessResult; shown: string; log: Logger }>;

/** The update steps of a service, in the order they run. */
export function updateSteps(
  config: ServiceConfig,
): { step: StepName; commands: readonly HookCommand[] }[] {
  return [
    { step: "pre", commands: config.preUpdateCommands },
    { step: "update", commands: config.updateCommands },
    { step: "post", commands: config.postUpdateCommands },
  ];
}

/** Runs and records hook commands for one service, numbering them in order; `masks` are hidden in output. */
function commandRunner(
  input: HookCommandContext,
  serviceEnv: Record<string, string>,
  options: { masks?: readonly string[]; firstSeq?: number } = {},
): CommandRun {
  let seq = options.firstSeq ?? 0;
  const mask = (text: string) => maskSecrets(text, options.masks ?? []);
  return async (step, command, extraEnv = {}, timeoutMs = input.timeoutMs) => {
    const shown = displayCommand(command);
    const log = input.logger.with({ service: input.service, step });
    log.info("{step}: {command}", { command: shown });
    const startedAt = input.now();
    const result = await runHookProcess(input.runner, {
      step,
      command,
      cwd: input.cwd,
      serviceEnv,
      agentEnv: { ...input.agentEnv, ...extraEnv },
      withheldEnv: input.withheldEnv ?? [],
      timeoutMs,
      signal: input.signal,
      tailBytes: OUTPUT_TAIL_BYTES,
      // On Unix every command leads its own process group, named by its pid.
      onSpawn: Deno.build.os === "windows"
        ? undefined
        : (pid) =>
          input.onCommandStarted?.({
            pgid: pid,
            startTime: processStartTime(pid) ?? null,
          }),
      onLine: (line) => log.info("| {line}", { line: mask(line) }),
    });
    const record: CommandRecord = {
      seq: seq++,
      step,
      command: shown,
      startedAt,
      finishedAt: input.now(),
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      output: mask(result.output),
      truncated: result.truncated,
    };
    input.onCommandFinished(record);
    return { result, shown, log };
  };
}

/**
 * Runs decrypt → pre → update → post; the first failing command stops the
 * sequence, then `on_failure` runs. A failed `decrypt` runs no hook at all.
 */
export async function runHookSteps(
  input: HookStepsInput,
): Promise<StepsOutcome> {
  const decrypted = await runDecryptStep(input);
  if (decrypted.kind === "failed") return decryptFailure(decrypted.message);
  const recorded = decrypted.files.length > 0 ? 1 : 0;
  const runCommand = commandRunner(
    input,
    // The hook file's own `env` wins over the values of `env_from`.
    { ...decrypted.env, ...input.config.env },
    { masks: decrypted.masks, firstSeq: recorded },
  );
  let outcome = await runSequence(
    updateSteps(input.config),
    runCommand,
    input.timeoutMs,
  );
  if (outcome.kind === "interrupted") return outcome;
  const health = healthSettings(input.config);
  if (outcome.kind === "succeeded" && health) {
    const checked = await runHealthStep(health, {
      now: input.now,
      commandTimeoutMs: input.timeoutMs,
      signal: input.signal,
      attempt: async (command, timeoutMs) =>
        (await runCommand("health", command, {}, timeoutMs)).result,
    });
    if (checked.kind === "interrupted") {
      return { kind: "interrupted", step: "health", command: checked.command };
    }
    if (checked.kind === "failed") {
      input.logger.with({ service: input.service, step: "health" }).error(
        checked.message,
      );
      outcome = {
        kind: "failed",
        step: "health",
        command: checked.command,
        exitCode: checked.exitCode,
        timedOut: checked.timedOut,
        message: checked.message,
      };
    }
  }
  if (outcome.kind === "failed") {
    await runFailureCommands(input, outcome.step, runCommand);
  }
  return outcome;
}

/** Step `decrypt`: writes the service's secrets and records which (names and sizes) as the run's first entry. */
async function runDecryptStep(input: HookStepsInput): Promise<DecryptOutcome> {
  if (!input.secrets || !input.config.secrets?.length) {
    return { kind: "decrypted", files: [], masks: [], env: {} };
  }
  const log = input.logger.with({ service: input.service, step: "decrypt" });
  const startedAt = input.now();
  const outcome = await decryptSecrets(input.config, input.secrets);
  if (outcome.kind === "failed") {
    log.error(outcome.message);
    return outcome;
  }
  const lines = outcome.files.map((file) =>
    file.to === undefined
      ? `${file.file}: ${file.bytes} bytes, for the environment only`
      : `${file.file} → ${file.to}: ${file.bytes} bytes`
  );
  for (const line of lines) log.info("decrypt: {line}", { line });
  input.onCommandFinished({
    seq: 0,
    step: "decrypt",
    command: "decrypt",
    startedAt,
    finishedAt: input.now(),
    exitCode: 0,
    timedOut: false,
    output: lines.map((line) => `${line}\n`).join(""),
    truncated: false,
  });
  return outcome;
}

/** The outcome of a run whose secrets could not be decrypted: it fails at step `decrypt`. */
export function decryptFailure(message: string): StepsOutcome {
  return {
    kind: "failed",
    step: "decrypt",
    command: "",
    exitCode: null,
    timedOut: false,
    message,
  };
}

/** A service's removal commands alone, with no service `env`, health step or `on_failure`. */
export async function runRemoveCommands(
  input: HookCommandContext & { commands: readonly HookCommand[] },
): Promise<StepsOutcome> {
  return await runSequence(
    [{ step: "on_remove", commands: input.commands }],
    commandRunner(input, {}),
    input.timeoutMs,
  );
}

/** Runs `steps` in order; the first failing or interrupted command ends them. */
async function runSequence(
  steps: readonly { step: StepName; commands: readonly HookCommand[] }[],
  runCommand: CommandRun,
  timeoutMs: number,
): Promise<StepsOutcome> {
  let outcome: StepsOutcome = { kind: "succeeded" };
  sequence: for (const { step, commands } of steps) {
    for (const command of commands) {
      const { result, shown, log } = await runCommand(step, command);
      if (result.interrupted) {
        log.warn("{step}: {command} was interrupted", { command: shown });
        return { kind: "interrupted", step, command: shown };
      }
      if (!result.success) {
        const message = result.timedOut
          ? `${step} command timed out after ${timeoutMs / 1000} s: ${shown}`
          : `${step} command failed (exit ${
            result.exitCode ?? result.signal
          }): ${shown}`;
        log.error(message);
        outcome = {
          kind: "failed",
          step,
          command: shown,
          exitCode: result.exitCode,
          timedOut: result.timedOut,
          message,
        };
        break sequence;
      }
    }
  }
  return outcome;
}

/** Runs `on_failure_commands`; their own failure is logged, never replaces the first. */
async function runFailureCommands(
  input: HookStepsInput,
  failedStep: StepName,
  runCommand: CommandRun,
): Promise<void> {
  for (const command of input.config.onFailureCommands) {
    if (input.signal?.aborted) return;
    const { result, shown, log } = await runCommand("on_failure", command, {
      UPSTREAM_WATCH_FAILED_STEP: failedStep,
    });
    if (!result.success) {
      log.warn("on_failure command failed too: {command}", { command: shown });
      return;
    }
  }
}
