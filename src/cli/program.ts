/**
 * The command line: global options, logging, opening the app for each
 * command, and how every failure becomes one line and an exit code.
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { type GlobalOptions, openState } from "../app/open_state.ts";
import { errorMessage, ExitCode, UpstreamWatchError } from "../errors.ts";
import { escapeControl } from "../log/escape.ts";
import {
  type CliLogLevel,
  configureLogging,
  type LogFormat,
} from "../log/logging.ts";
import { type Output, processOutput } from "./output.ts";
import { addSubcommands, type WithApp, type WithState } from "./subcommands.ts";

interface ProgramOptions extends GlobalOptions {
  logFormat: LogFormat;
  logLevel: CliLogLevel;
  color: boolean;
}

/** Parses the command line, runs one command and returns the process exit code (docs/design.md#exit-codes). */
export async function runCli(
  args: readonly string[],
  output: Output = processOutput(),
): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(output, (code) => exitCode = code);
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error (2).
      return thrown.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const options = program.opts<ProgramOptions>();
    const expected = expectedError(thrown);
    // A bug is reported in one line too; its stack only at debug level.
    const error = expected ?? internalError(thrown);
    const stack = options.logLevel === "debug" && thrown instanceof Error
      ? thrown.stack
      : undefined;
    // Log shippers read stderr line by line: in JSON mode the final error is JSON too.
    output.err(
      options.logFormat === "json"
        ? JSON.stringify({
          time: new Date().toISOString(),
          level: "error",
          message: error.message,
          exitCode: error.exitCode,
          ...(stack ? { stack } : {}),
        }) + "\n"
        : `upstream-watch: ${escapeControl(error.message)}\n` +
          (stack ? `${stack}\n` : ""),
    );
    return error.exitCode;
  }
}

/** An unexpected error as a one-line message; exit 1 like an uncaught error. */
function internalError(thrown: unknown): UpstreamWatchError {
  const message = errorMessage(thrown);
  return new UpstreamWatchError(
    `internal error: ${message} (run with --log-level debug for the stack trace)`,
    { exitCode: ExitCode.updateFailed, cause: thrown },
  );
}

/** Domain errors as they are; a missing permission or an unusable file becomes a one-line exit-2 error; bugs stay undefined. */
function expectedError(error: unknown): UpstreamWatchError | undefined {
  if (error instanceof UpstreamWatchError) return error;
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return new UpstreamWatchError(
      `${error.message} (a missing Deno permission, or a file upstream-watch may not read or write; see scripts/permissions.ts for the flags it needs)`,
      { exitCode: ExitCode.usage, cause: error },
    );
  }
  return undefined;
}

function buildProgram(
  output: Output,
  setExit: (code: number) => void,
): Command {
  const program = new Command("upstream-watch")
    .description(
      "Pull-based GitOps agent: keeps a clone in sync with its upstream and runs the update commands of every service folder that changed",
    )
    .option("--repo <dir>", "repository to work on", ".")
    .option(
      "--config <file>",
      "repository configuration file (default: <repo>/.upstream-watch.yaml)",
    )
    .option(
      "--host <name>",
      "host name matched against services' hosts (default: $UPSTREAM_WATCH_HOST, else the machine's)",
    )
    .option(
      "--allowed-signers <path>",
      "deploy only commits signed by a key of this allowed-signers file (default: $UPSTREAM_WATCH_ALLOWED_SIGNERS, else verify: in the repository)",
    )
    .option(
      "--age-key-file <path>",
      "age identities for services' SOPS secrets, besides $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY",
    )
    .addOption(
      new Option("--log-format <format>", "log format").choices([
        "text",
        "json",
      ])
        .default("text"),
    )
    .addOption(
      new Option("--log-level <level>", "lowest level logged").choices([
        "debug",
        "info",
        "warn",
        "error",
      ]).default("info"),
    )
    .option("--no-color", "never colour log output")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text),
      writeErr: (text) => output.err(text),
      outputError: (text, write) =>
        write(`upstream-watch: ${text.replace(/^error: /, "")}`),
    })
    .hook("preAction", () => {
      const options = program.opts<ProgramOptions>();
      configureLogging({
        format: options.logFormat,
        level: options.logLevel,
        color: options.color && !Deno.noColor && Deno.stderr.isTerminal(),
      });
    });

  /**
   * Read-only commands open the state read-only; `writer` commands also take
   * the instance lock. Each command's module is imported when it runs: a
   * status need not load the daemon's HTTP server and notifiers, and a
   * command that only reads the state (withState) not the agent either.
   */
  const withApp: WithApp = (mode, body, options = {}) => async () => {
    const { openApp } = await import("../app/compose.ts");
    // `beside`: writes the state next to a running daemon, without its lock.
    using app = await openApp(program.opts<ProgramOptions>(), {
      readOnly: mode === "reader",
      lock: mode === "writer",
      ...options,
      recoverRuns: mode !== "beside",
    });
    setExit(await body(app));
  };
  const withState: WithState = (body) => async () => {
    using state = await openState(program.opts<ProgramOptions>(), {
      readOnly: true,
    });
    setExit(await body(state));
  };

  addSubcommands(program, {
    withApp,
    withState,
    output,
    setExit,
    globals: () => program.opts<ProgramOptions>(),
  });
  return program;
}
